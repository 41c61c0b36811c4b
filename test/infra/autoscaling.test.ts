import { Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { EndpointAutoScaling, type EndpointAutoScalingProps } from '../../lib/endpoint/endpoint-autoscaling.ts';
import { templateOf, testApp } from '../helpers/cdk.ts';

function scalingStack(props: Partial<EndpointAutoScalingProps> = {}) {
  const stack = new Stack(testApp(), 'Scaling');
  new EndpointAutoScaling(stack, 'Scaling', { endpointName: 'churn', variantName: 'AllTraffic', instanceType: 'ml.g5.xlarge', ...props });
  return stack;
}

describe('EndpointAutoScaling', () => {
  const template = templateOf(
    scalingStack({
      minCapacity: 2,
      maxCapacity: 6,
      targetInvocationsPerInstance: 250,
      scaleInCooldown: Duration.minutes(10),
      scaleOutCooldown: Duration.seconds(30),
      schedules: [{ name: 'business-hours', expression: 'cron(0 8 ? * MON-FRI *)', minCapacity: 3, timeZone: 'Europe/Berlin' }],
    }),
  );

  it("registers the variant's DesiredInstanceCount with the SageMaker service-linked role", () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ServiceNamespace: 'sagemaker',
      ResourceId: 'endpoint/churn/variant/AllTraffic',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      MinCapacity: 2,
      MaxCapacity: 6,
      RoleARN: Match.absent(),
    });
    template.resourceCountIs('AWS::IAM::Role', 0);
  });

  it('tracks invocations per instance with separate scale-in and scale-out cooldowns', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        TargetValue: 250,
        ScaleInCooldown: 600,
        ScaleOutCooldown: 30,
      },
    });
  });

  it('applies scheduled capacity changes in the given time zone', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ScheduledActions: [{ ScheduledActionName: 'business-hours', Schedule: 'cron(0 8 ? * MON-FRI *)', ScalableTargetAction: { MinCapacity: 3 }, Timezone: 'Europe/Berlin' }],
    });
  });

  it.each<[Partial<EndpointAutoScalingProps>, RegExp]>([
    [{ minCapacity: 5, maxCapacity: 2 }, /EndpointAutoScaling\.minCapacity: must be at most maxCapacity \(2\), got 5/],
    [{ minCapacity: 0 }, /EndpointAutoScaling\.minCapacity: must be an integer from 1 to 100, got 0/],
    [{ maxCapacity: 101 }, /EndpointAutoScaling\.maxCapacity: must be an integer from 1 to 100, got 101/],
    [{ instanceType: 'ml.t3.medium' }, /EndpointAutoScaling\.instanceType: burstable ml\.t3\.medium cannot be autoscaled/],
    [{ targetInvocationsPerInstance: 0 }, /EndpointAutoScaling\.targetInvocationsPerInstance: must be an integer from 1 to 100000/],
    [{ scaleInCooldown: Duration.hours(2) }, /EndpointAutoScaling\.scaleInCooldown \(seconds\): must be an integer from 0 to 3600, got 7200/],
    [{ initialInstanceCount: 8, maxCapacity: 4 }, /the variant starts with 8 instance\(s\), outside \[minCapacity 1, maxCapacity 4\]/],
    [{ schedules: [{ name: 'nightly', expression: '0 2 * * *', minCapacity: 1 }] }, /EndpointAutoScaling\.schedules\[0\]\.expression: must be cron\(\.\.\.\), rate\(\.\.\.\) or at\(\.\.\.\)/],
    [{ schedules: [{ name: 'empty', expression: 'rate(1 day)' }] }, /EndpointAutoScaling\.schedules\[0\]: must set minCapacity, maxCapacity or both/],
  ])('rejects %o naming the prop and its range', (props, message) => {
    expect(() => scalingStack(props)).toThrow(message);
  });
});
