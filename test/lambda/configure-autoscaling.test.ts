import './quiet-logs.ts';
import {
  ApplicationAutoScalingClient,
  PutScalingPolicyCommand,
  PutScheduledActionCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { SCALING_POLICY_NAME, handler, type ConfigureAutoScalingEvent } from '../../lambda/configure-autoscaling.ts';
import { resolveEndpointAutoScaling } from '../../lib/endpoint/endpoint-autoscaling.ts';

const sageMaker = mockClient(SageMakerClient);
const autoScaling = mockClient(ApplicationAutoScalingClient);

// The settings exactly as the stack resolves them (its defaults filled in), not a hand-made copy.
const SETTINGS = resolveEndpointAutoScaling(
  { minCapacity: 2, maxCapacity: 6, targetInvocationsPerInstance: 250, schedules: [{ name: 'business-hours', expression: 'cron(0 8 ? * MON-FRI *)', minCapacity: 3, timeZone: 'Europe/Berlin' }] },
  { instanceType: 'ml.g5.xlarge', initialInstanceCount: 2 },
);
const EVENT: ConfigureAutoScalingEvent = { endpointName: 'churn', variantName: 'AllTraffic', autoScaling: SETTINGS };
const TARGET = { ServiceNamespace: 'sagemaker', ResourceId: 'endpoint/churn/variant/AllTraffic', ScalableDimension: 'sagemaker:variant:DesiredInstanceCount' } as const;

function endpointWith(variant: Record<string, unknown>): void {
  sageMaker.on(DescribeEndpointCommand, { EndpointName: 'churn' }).resolves({ EndpointStatus: 'InService', ProductionVariants: [{ VariantName: 'AllTraffic', ...variant }] });
}

beforeEach(() => {
  sageMaker.reset();
  autoScaling.reset();
  endpointWith({ CurrentInstanceCount: 2, DesiredInstanceCount: 2 });
  autoScaling.on(RegisterScalableTargetCommand).resolves({ ScalableTargetARN: 'arn:aws:application-autoscaling:eu-west-1:111122223333:scalable-target/abc' });
  autoScaling.on(PutScalingPolicyCommand).resolves({ PolicyARN: 'policy-arn', Alarms: [] });
  autoScaling.on(PutScheduledActionCommand).resolves({});
});

describe('an endpoint the pipeline created', () => {
  it('registers the variant with the stack\'s capacity range and puts its target-tracking policy and schedules', async () => {
    const result = await handler(EVENT);

    expect(result).toEqual({ action: 'configured', resourceId: TARGET.ResourceId, policyName: SCALING_POLICY_NAME, minCapacity: 2, maxCapacity: 6, scheduledActions: ['business-hours'] });
    expect(autoScaling).toHaveReceivedCommandWith(RegisterScalableTargetCommand, { ...TARGET, MinCapacity: 2, MaxCapacity: 6 });
    // No RoleARN: the SageMaker service-linked role, as in the CloudFormation path.
    expect(autoScaling.commandCalls(RegisterScalableTargetCommand)[0]!.args[0].input.RoleARN).toBeUndefined();
    expect(autoScaling).toHaveReceivedCommandWith(PutScalingPolicyCommand, {
      ...TARGET,
      PolicyName: SCALING_POLICY_NAME,
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 250,
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        // EndpointAutoScaling's defaults, filled in by the stack, not by the handler.
        ScaleInCooldown: 300,
        ScaleOutCooldown: 60,
      },
    });
    expect(autoScaling).toHaveReceivedCommandWith(PutScheduledActionCommand, {
      ...TARGET,
      ScheduledActionName: 'business-hours',
      Schedule: 'cron(0 8 ? * MON-FRI *)',
      Timezone: 'Europe/Berlin',
      ScalableTargetAction: { MinCapacity: 3 },
    });
  });

  it('registers the target before the policy (a policy needs its target)', async () => {
    await handler(EVENT);
    const order = autoScaling.calls().map((call) => (call.args[0] as object).constructor.name);
    expect(order).toEqual(['RegisterScalableTargetCommand', 'PutScalingPolicyCommand', 'PutScheduledActionCommand']);
  });

  it('sends the same upserts with the same names when run again (after an update or a retry)', async () => {
    await handler(EVENT);
    const first = autoScaling.calls().map((call) => call.args[0].input);
    autoScaling.resetHistory();

    await handler(EVENT);

    expect(autoScaling.calls().map((call) => call.args[0].input)).toEqual(first);
    expect(autoScaling).toHaveReceivedCommandTimes(PutScalingPolicyCommand, 1);
  });

  it('puts no scheduled action when the stack has no schedules', async () => {
    await handler({ ...EVENT, autoScaling: resolveEndpointAutoScaling({}, { instanceType: 'ml.m5.large' }) });
    expect(autoScaling).toHaveReceivedCommandWith(RegisterScalableTargetCommand, { MinCapacity: 1, MaxCapacity: 4 });
    expect(autoScaling).not.toHaveReceivedCommand(PutScheduledActionCommand);
  });
});

describe('skips', () => {
  it('a serverless variant, which SageMaker scales by itself', async () => {
    endpointWith({ CurrentServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 } });

    await expect(handler(EVENT)).resolves.toEqual({ action: 'skipped', reason: 'variant AllTraffic is serverless and scales by itself' });
    expect(autoScaling.calls()).toHaveLength(0);
  });

  it('everything when the stack turned autoscaling off', async () => {
    await expect(handler({ ...EVENT, autoScaling: false })).resolves.toEqual({ action: 'skipped', reason: 'autoscaling is off in the stack settings' });
    expect(autoScaling.calls()).toHaveLength(0);
    expect(sageMaker.calls()).toHaveLength(0);
  });
});

describe('failures', () => {
  it('lets a throttled Application Auto Scaling call fail with its own error name, which the state machine retries', async () => {
    autoScaling.on(PutScalingPolicyCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(handler(EVENT)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('names the variants the endpoint has when the deployed variant is missing', async () => {
    sageMaker.on(DescribeEndpointCommand).resolves({ ProductionVariants: [{ VariantName: 'Blue' }] });
    await expect(handler(EVENT)).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('has no variant AllTraffic (it has Blue)') });
    expect(autoScaling.calls()).toHaveLength(0);
  });

  it('says so when the endpoint does not exist', async () => {
    sageMaker.on(DescribeEndpointCommand).rejects(Object.assign(new Error('Could not find endpoint "churn".'), { name: 'ValidationException' }));
    await expect(handler(EVENT)).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('endpoint churn does not exist') });
  });

  it('refuses settings that are not the stack\'s, naming the field', async () => {
    await expect(handler({ ...EVENT, autoScaling: { ...SETTINGS, minCapacity: 7 } })).rejects.toThrow('autoScaling.minCapacity (7) must be at most maxCapacity (6)');
    await expect(handler({ ...EVENT, autoScaling: { ...SETTINGS, targetInvocationsPerInstance: 1.5 } })).rejects.toThrow('autoScaling.targetInvocationsPerInstance must be');
    await expect(handler({ ...EVENT, variantName: '' })).rejects.toThrow('autoscaling needs variantName');
  });
});
