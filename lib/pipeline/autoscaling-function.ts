import { ArnFormat, Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { EndpointAutoScalingSettings } from '../endpoint/endpoint-autoscaling.ts';
import { acknowledge, resourceFinding } from './nag-findings.ts';
import { PipelineFunction, type PipelineFunctionProps } from './pipeline-function.ts';
import { sageMakerArn } from '../sagemaker-arn.ts';

/** The service principal of Application Auto Scaling's SageMaker service-linked role. */
const AUTOSCALING_SERVICE = 'sagemaker.application-autoscaling.amazonaws.com';

export interface AutoScalingFunctionProps {
  readonly endpointName: string;
  readonly variantName: string;
  /** The settings it registers; `false` (autoscaling off) grants nothing, as the step then calls nothing. */
  readonly settings: EndpointAutoScalingSettings | false;
  /** Log key, network and concurrency, as for every pipeline step. */
  readonly step: Pick<PipelineFunctionProps, 'logsKey' | 'network' | 'reservedConcurrency'>;
}

/**
 * The pipeline step that registers autoscaling on an endpoint the pipeline created
 * (lambda/configure-autoscaling.ts), with a role that may scale exactly that variant.
 */
export function autoScalingFunction(scope: Construct, id: string, props: AutoScalingFunctionProps): PipelineFunction {
  const step = new PipelineFunction(scope, id, {
    ...props.step,
    entry: 'configure-autoscaling.ts',
    description: 'register the endpoint variant with Application Auto Scaling: target tracking on invocations per instance',
  });
  if (props.settings === false) return step;
  const stack = Stack.of(scope);
  const role = step.role;

  // Scalable target ARNs end in an ID Application Auto Scaling generates at registration, so
  // the variant cannot be named in the ARN; the calls name it by ResourceId, and the SageMaker
  // permissions below (which Application Auto Scaling checks on the caller) admit one endpoint.
  const scalableTargets = stack.formatArn({ service: 'application-autoscaling', resource: 'scalable-target', resourceName: '*' });
  const actions = ['application-autoscaling:RegisterScalableTarget', 'application-autoscaling:PutScalingPolicy'];
  if (props.settings.schedules.length > 0) actions.push('application-autoscaling:PutScheduledAction');
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [scalableTargets] }));

  const endpointArn = sageMakerArn(scope, 'endpoint', props.endpointName);
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpointWeightsAndCapacities'], resources: [endpointArn] }));

  // Application Auto Scaling's user guide lists CloudWatch alarm permissions among those the caller
  // of PutScalingPolicy needs; target tracking names its alarms TargetTracking-<resource id>-Alarm{High,Low}-<uuid>.
  const alarms = stack.formatArn({
    service: 'cloudwatch',
    resource: 'alarm',
    resourceName: `TargetTracking-endpoint/${props.endpointName}/variant/${props.variantName}-*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms', 'cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms'], resources: [alarms] }));

  // The first registration in an account creates the service-linked role; nothing else may be created.
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['iam:CreateServiceLinkedRole'],
      resources: [`arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/aws-service-role/${AUTOSCALING_SERVICE}/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`],
      conditions: { StringEquals: { 'iam:AWSServiceName': AUTOSCALING_SERVICE } },
    }),
  );

  acknowledge(role, [
    {
      finding: resourceFinding(scope, scalableTargets),
      reason:
        'Scalable target ARNs end in an ID Application Auto Scaling assigns at registration and the service has no condition key for the resource ID, so this account and region is the narrowest ARN; the SageMaker permissions Application Auto Scaling requires of the caller are limited to this one endpoint.',
    },
    {
      finding: resourceFinding(scope, alarms),
      reason: `Target tracking names its CloudWatch alarms TargetTracking-endpoint/${props.endpointName}/variant/${props.variantName}-Alarm{High,Low}-<uuid>; the pattern admits only this variant's alarms.`,
    },
  ]);
  return step;
}
