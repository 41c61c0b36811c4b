import { Duration, TimeZone } from 'aws-cdk-lib';
import { Construct, type IDependable } from 'constructs';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describeInstanceType } from '../instance-type.ts';
import { PropValidationError, requireIntegerInRange, requireMatch } from '../validation.ts';

/** A scheduled change of the capacity range, e.g. more instances in business hours. */
export interface ScheduledCapacity {
  /** A name for the action, unique among the schedules. */
  readonly name: string;
  /** `cron(...)`, `rate(...)` or `at(...)` in Application Auto Scaling's syntax, e.g. `cron(0 8 ? * MON-FRI *)`. */
  readonly expression: string;
  /** The new minimum (1 to 100). @default unchanged */
  readonly minCapacity?: number;
  /** The new maximum (1 to 100). @default unchanged */
  readonly maxCapacity?: number;
  /** IANA time zone of a cron expression, e.g. `Europe/Berlin`. @default UTC */
  readonly timeZone?: string;
}

export interface EndpointAutoScalingOptions {
  /**
   * Fewest instances. SageMaker real-time endpoints cannot scale to zero.
   * @default 1 (allowed 1 to 100)
   */
  readonly minCapacity?: number;
  /**
   * Most instances.
   * @default 4 (allowed minCapacity to 100)
   */
  readonly maxCapacity?: number;
  /**
   * Invocations per instance per minute that target tracking holds the fleet at.
   * Measure one instance's sustainable rate (bench/) and take about half of it.
   * @default 100 (allowed 1 to 100000)
   */
  readonly targetInvocationsPerInstance?: number;
  /**
   * Wait after a scale-in before the next one: removing capacity is the risky direction.
   * @default Duration.minutes(5) (allowed 0 to 3600 seconds)
   */
  readonly scaleInCooldown?: Duration;
  /**
   * Wait after a scale-out before the next one.
   * @default Duration.minutes(1) (allowed 0 to 3600 seconds)
   */
  readonly scaleOutCooldown?: Duration;
  /**
   * Scheduled changes of the capacity range.
   * @default none
   */
  readonly schedules?: ReadonlyArray<ScheduledCapacity>;
}

export interface EndpointAutoScalingProps extends EndpointAutoScalingOptions, ScaledVariant {
  readonly endpointName: string;
  readonly variantName: string;
  /** What must exist before the scalable target is registered (the endpoint). @default nothing */
  readonly dependsOn?: IDependable;
}

/**
 * Autoscaling settings with every default applied, in plain JSON (seconds, not Durations): what
 * EndpointAutoScaling registers through CloudFormation, and what the training pipeline registers
 * through the Application Auto Scaling API on an endpoint it created. One source for both.
 */
export interface EndpointAutoScalingSettings {
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly targetInvocationsPerInstance: number;
  readonly scaleInCooldownSeconds: number;
  readonly scaleOutCooldownSeconds: number;
  readonly schedules: ReadonlyArray<ScheduledCapacity>;
}

/** What the settings apply to: the variant's instance type and initial count, for validation. */
export interface ScaledVariant {
  /** The variant's instance type (burstable types are refused). */
  readonly instanceType: string;
  /** The variant's initial count; it must lie within [minCapacity, maxCapacity]. @default not checked */
  readonly initialInstanceCount?: number;
}

/**
 * `options` with the documented defaults applied, validated against the variant; throws a
 * PropValidationError naming the prop and its allowed range.
 */
export function resolveEndpointAutoScaling(options: EndpointAutoScalingOptions, variant: ScaledVariant): EndpointAutoScalingSettings {
  const minCapacity = options.minCapacity ?? 1;
  const maxCapacity = options.maxCapacity ?? Math.max(4, minCapacity);
  const target = options.targetInvocationsPerInstance ?? 100;
  const scaleInCooldown = options.scaleInCooldown ?? Duration.minutes(5);
  const scaleOutCooldown = options.scaleOutCooldown ?? Duration.minutes(1);
  validate(options, variant, minCapacity, maxCapacity, target, scaleInCooldown, scaleOutCooldown);
  return {
    minCapacity,
    maxCapacity,
    targetInvocationsPerInstance: target,
    scaleInCooldownSeconds: scaleInCooldown.toSeconds(),
    scaleOutCooldownSeconds: scaleOutCooldown.toSeconds(),
    schedules: (options.schedules ?? []).map((schedule) => ({ ...schedule })),
  };
}

/**
 * Target-tracking autoscaling of a SageMaker variant's instance count
 * (`sagemaker:variant:DesiredInstanceCount`) on SageMakerVariantInvocationsPerInstance,
 * with cooldowns and optional schedules. Registration uses the SageMaker endpoint
 * service-linked role of Application Auto Scaling.
 */
export class EndpointAutoScaling extends Construct {
  readonly scalableTarget: appscaling.ScalableTarget;
  readonly policy: appscaling.TargetTrackingScalingPolicy;
  /** The settings as registered, defaults applied. */
  readonly settings: EndpointAutoScalingSettings;

  constructor(scope: Construct, id: string, props: EndpointAutoScalingProps) {
    super(scope, id);
    const settings = resolveEndpointAutoScaling(props, props);
    this.settings = settings;

    this.scalableTarget = new appscaling.ScalableTarget(this, 'Target', {
      serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
      resourceId: `endpoint/${props.endpointName}/variant/${props.variantName}`,
      scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      minCapacity: settings.minCapacity,
      maxCapacity: settings.maxCapacity,
      // Application Auto Scaling uses (and creates when missing) its SageMaker service-linked
      // role when RoleARN is absent; the L2 would otherwise add a role of its own that is never used.
      role: iam.Role.fromRoleName(this, 'ServiceLinkedRole', 'AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint'),
    });
    (this.scalableTarget.node.defaultChild as appscaling.CfnScalableTarget).addPropertyDeletionOverride('RoleARN');
    if (props.dependsOn !== undefined) this.scalableTarget.node.addDependency(props.dependsOn);

    this.policy = this.scalableTarget.scaleToTrackMetric('InvocationsPerInstance', {
      predefinedMetric: appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
      targetValue: settings.targetInvocationsPerInstance,
      scaleInCooldown: Duration.seconds(settings.scaleInCooldownSeconds),
      scaleOutCooldown: Duration.seconds(settings.scaleOutCooldownSeconds),
    });

    for (const schedule of settings.schedules) {
      this.scalableTarget.scaleOnSchedule(schedule.name, {
        schedule: appscaling.Schedule.expression(schedule.expression),
        minCapacity: schedule.minCapacity,
        maxCapacity: schedule.maxCapacity,
        timeZone: schedule.timeZone === undefined ? undefined : TimeZone.of(schedule.timeZone),
      });
    }
  }
}

function validate(
  props: EndpointAutoScalingOptions,
  variant: ScaledVariant,
  minCapacity: number,
  maxCapacity: number,
  target: number,
  scaleInCooldown: Duration,
  scaleOutCooldown: Duration,
): void {
  const instance = describeInstanceType('EndpointAutoScaling.instanceType', variant.instanceType);
  if (instance.burstable) {
    throw new PropValidationError(
      'EndpointAutoScaling.instanceType',
      `burstable ${instance.name} cannot be autoscaled: its CPU credits make invocations per instance a moving target; use a non-burstable type such as ml.m5.large or a GPU type such as ml.g5.xlarge`,
    );
  }
  requireIntegerInRange('EndpointAutoScaling.minCapacity', minCapacity, 1, 100);
  requireIntegerInRange('EndpointAutoScaling.maxCapacity', maxCapacity, 1, 100);
  if (minCapacity > maxCapacity) {
    throw new PropValidationError('EndpointAutoScaling.minCapacity', `must be at most maxCapacity (${maxCapacity}), got ${minCapacity}`);
  }
  const initial = variant.initialInstanceCount;
  if (initial !== undefined && (initial < minCapacity || initial > maxCapacity)) {
    throw new PropValidationError(
      'EndpointAutoScaling.minCapacity',
      `the variant starts with ${initial} instance(s), outside [minCapacity ${minCapacity}, maxCapacity ${maxCapacity}]; widen the range or change the initial instance count`,
    );
  }
  requireIntegerInRange('EndpointAutoScaling.targetInvocationsPerInstance', target, 1, 100_000);
  requireIntegerInRange('EndpointAutoScaling.scaleInCooldown (seconds)', scaleInCooldown.toSeconds(), 0, 3600);
  requireIntegerInRange('EndpointAutoScaling.scaleOutCooldown (seconds)', scaleOutCooldown.toSeconds(), 0, 3600);
  const names = new Set<string>();
  for (const [index, schedule] of (props.schedules ?? []).entries()) {
    const prop = `EndpointAutoScaling.schedules[${index}]`;
    requireMatch(`${prop}.name`, schedule.name, /^[A-Za-z0-9-_]{1,64}$/, '1 to 64 letters, digits, hyphens or underscores');
    if (names.has(schedule.name)) throw new PropValidationError(`${prop}.name`, `must be unique, ${JSON.stringify(schedule.name)} is used twice`);
    names.add(schedule.name);
    requireMatch(`${prop}.expression`, schedule.expression, /^(cron|rate|at)\(.+\)$/, 'cron(...), rate(...) or at(...), e.g. "cron(0 8 ? * MON-FRI *)"');
    requireIntegerInRange(`${prop}.minCapacity`, schedule.minCapacity, 1, 100);
    requireIntegerInRange(`${prop}.maxCapacity`, schedule.maxCapacity, 1, 100);
    if (schedule.minCapacity === undefined && schedule.maxCapacity === undefined) {
      throw new PropValidationError(prop, 'must set minCapacity, maxCapacity or both');
    }
    if (schedule.minCapacity !== undefined && schedule.maxCapacity !== undefined && schedule.minCapacity > schedule.maxCapacity) {
      throw new PropValidationError(`${prop}.minCapacity`, `must be at most maxCapacity (${schedule.maxCapacity}), got ${schedule.minCapacity}`);
    }
  }
}
