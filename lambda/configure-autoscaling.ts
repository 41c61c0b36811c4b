/**
 * Autoscaling step: after a deployment the pipeline made has settled InService, registers the
 * endpoint's variant with Application Auto Scaling and puts the stack's target-tracking policy
 * (and scheduled actions), exactly as EndpointAutoScaling does through CloudFormation for an
 * endpoint CloudFormation owns. The pipeline runs it only for endpoints it created.
 *
 * Every call is an upsert keyed by names that never change (the variant's resource ID, one
 * policy name, the schedule names), so a retried step or the next deployment converges the
 * endpoint on the stack's current settings instead of adding to them.
 */
import {
  PutScalingPolicyCommand,
  PutScheduledActionCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { DescribeEndpointCommand, type DescribeEndpointCommandOutput } from '@aws-sdk/client-sagemaker';
import type { EndpointAutoScalingSettings } from '../lib/endpoint/endpoint-autoscaling.ts';
import { applicationAutoScalingClient, sageMakerClient } from './shared/aws-clients.ts';
import { InvalidInputError } from './shared/errors.ts';
import { createLogger } from './shared/logger.ts';
import { isNotFound } from './shared/sagemaker-errors.ts';

export interface ConfigureAutoScalingEvent {
  readonly endpointName: string;
  readonly variantName: string;
  /** The stack's autoscaling settings with defaults applied; `false` when autoscaling is off. */
  readonly autoScaling: EndpointAutoScalingSettings | false;
}

export type ConfigureAutoScalingResult =
  | { readonly action: 'configured'; readonly resourceId: string; readonly policyName: string; readonly minCapacity: number; readonly maxCapacity: number; readonly scheduledActions: string[] }
  | { readonly action: 'skipped'; readonly reason: string };

/** The one name the target-tracking policy always has, so a re-run replaces it instead of adding one. */
export const SCALING_POLICY_NAME = 'modelstack-invocations-per-instance';
const SCALABLE_DIMENSION = 'sagemaker:variant:DesiredInstanceCount' as const;

const logger = createLogger('autoscaling');

export async function handler(event: ConfigureAutoScalingEvent): Promise<ConfigureAutoScalingResult> {
  validate(event);
  const base = { endpointName: event.endpointName, variantName: event.variantName };
  const settings = event.autoScaling;
  if (settings === false) {
    logger.info('autoscaling is off in the stack settings; leaving the instance count alone', base);
    return { action: 'skipped', reason: 'autoscaling is off in the stack settings' };
  }

  const endpoint = await describeEndpoint(event.endpointName);
  const variants = endpoint.ProductionVariants ?? [];
  const variant = variants.find((candidate) => candidate.VariantName === event.variantName);
  if (variant === undefined) {
    throw new InvalidInputError(
      `endpoint ${event.endpointName} has no variant ${event.variantName} (it has ${variants.map((v) => v.VariantName).join(', ') || 'none'}); autoscaling needs the variant the pipeline deployed`,
    );
  }
  if (variant.CurrentServerlessConfig !== undefined || variant.DesiredServerlessConfig !== undefined) {
    logger.info('serverless variant: SageMaker scales it by itself', base);
    return { action: 'skipped', reason: `variant ${event.variantName} is serverless and scales by itself` };
  }

  const client = applicationAutoScalingClient();
  const target = { ServiceNamespace: 'sagemaker' as const, ResourceId: `endpoint/${event.endpointName}/variant/${event.variantName}`, ScalableDimension: SCALABLE_DIMENSION };
  // No RoleARN: Application Auto Scaling uses (creating it when missing) its SageMaker
  // service-linked role, as the CloudFormation path does.
  await client.send(new RegisterScalableTargetCommand({ ...target, MinCapacity: settings.minCapacity, MaxCapacity: settings.maxCapacity }));
  await client.send(
    new PutScalingPolicyCommand({
      ...target,
      PolicyName: SCALING_POLICY_NAME,
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: settings.targetInvocationsPerInstance,
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        ScaleInCooldown: settings.scaleInCooldownSeconds,
        ScaleOutCooldown: settings.scaleOutCooldownSeconds,
      },
    }),
  );
  for (const schedule of settings.schedules) {
    await client.send(
      new PutScheduledActionCommand({
        ...target,
        ScheduledActionName: schedule.name,
        Schedule: schedule.expression,
        Timezone: schedule.timeZone,
        ScalableTargetAction: { MinCapacity: schedule.minCapacity, MaxCapacity: schedule.maxCapacity },
      }),
    );
  }
  const scheduledActions = settings.schedules.map((schedule) => schedule.name);
  logger.info('autoscaling configured', { ...base, minCapacity: settings.minCapacity, maxCapacity: settings.maxCapacity, target: settings.targetInvocationsPerInstance, scheduledActions });
  return { action: 'configured', resourceId: target.ResourceId, policyName: SCALING_POLICY_NAME, minCapacity: settings.minCapacity, maxCapacity: settings.maxCapacity, scheduledActions };
}

async function describeEndpoint(endpointName: string): Promise<DescribeEndpointCommandOutput> {
  try {
    return await sageMakerClient().send(new DescribeEndpointCommand({ EndpointName: endpointName }));
  } catch (error) {
    if (isNotFound(error)) throw new InvalidInputError(`endpoint ${endpointName} does not exist; autoscaling is configured after the pipeline has created it`);
    throw error;
  }
}

function validate(event: ConfigureAutoScalingEvent): void {
  const missing = (['endpointName', 'variantName'] as const).filter((field) => typeof event[field] !== 'string' || event[field] === '');
  if (missing.length > 0) throw new InvalidInputError(`autoscaling needs ${missing.join(', ')}`);
  const settings = event.autoScaling;
  if (settings === false) return;
  if (typeof settings !== 'object' || settings === null) {
    throw new InvalidInputError(`autoScaling must be the stack's autoscaling settings or false, got ${JSON.stringify(settings)}`);
  }
  const counts = ['minCapacity', 'maxCapacity', 'targetInvocationsPerInstance', 'scaleInCooldownSeconds', 'scaleOutCooldownSeconds'] as const;
  const wrong = counts.filter((field) => !Number.isInteger(settings[field]) || settings[field] < 0);
  if (wrong.length > 0) throw new InvalidInputError(`autoScaling.${wrong.join(', autoScaling.')} must be non-negative integers`);
  if (settings.minCapacity > settings.maxCapacity) {
    throw new InvalidInputError(`autoScaling.minCapacity (${settings.minCapacity}) must be at most maxCapacity (${settings.maxCapacity})`);
  }
  if (!Array.isArray(settings.schedules)) throw new InvalidInputError('autoScaling.schedules must be a list (empty for none)');
}
