import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import type { MetricName } from '../../model-runtime/src/contract/metrics.ts';
import type { BatchTransformOptions } from './batch-transform.ts';
import type { PipelineObjective, PipelineTuningOptions, TrainingPipelineProps } from './training-pipeline.ts';

/**
 * The training pipeline's part of the app configuration: plain JSON (CDK context or a config
 * file), mapped onto TrainingPipeline props by `pipelinePropsFromSettings`. Every field is
 * optional; the defaults are TrainingPipeline's.
 */
export interface PipelineSettings {
  /** @default derived from the stack name (lowercase, at most 14 characters) */
  readonly namePrefix?: string;
  /** @default 'manual' */
  readonly approval?: 'automatic' | 'manual';
  /** Training instance type. @default 'ml.g5.2xlarge' */
  readonly instanceType?: string;
  /** @default 1 */
  readonly instanceCount?: number;
  /** Managed spot training. @default true */
  readonly spot?: boolean;
  /** @default 24 */
  readonly maxRuntimeHours?: number;
  /** Hyperparameters of every run (strings). @default {} */
  readonly hyperparameters?: Readonly<Record<string, string>>;
  /** `true` or options: tune learning_rate and batch_size. @default no tuning */
  readonly tuning?: boolean | PipelineTuningOptions;
  /** @default { metric: 'validation_loss', goal: 'minimize', threshold: 1 } */
  readonly objective?: { readonly metric?: MetricName; readonly goal?: 'minimize' | 'maximize'; readonly threshold?: number };
  /** An EventBridge schedule expression, e.g. `rate(7 days)` or `cron(0 3 ? * MON *)`. @default none */
  readonly schedule?: string;
  /** Start a run on new objects under data/ (ending in this suffix when a string); `false` turns it off. @default true */
  readonly dataTrigger?: boolean | string;
  /** Batch transform options; `false` leaves it out. @default {} */
  readonly batchTransform?: false | BatchTransformOptions;
}

/** `ModelStack-prod` -> `modelstack-prod`, cut to the 14 characters names allow. */
export function namePrefixFor(stackName: string): string {
  const prefix = stackName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 14)
    .replace(/-+$/, '');
  return prefix === '' ? 'modelstack' : prefix;
}

type SettingsProps = Omit<TrainingPipelineProps, 'modelStore' | 'image' | 'endpoint' | 'endpointSpec' | 'modelRole' | 'notificationTopic'>;

export function pipelinePropsFromSettings(settings: PipelineSettings, stackName: string): SettingsProps {
  const objective: PipelineObjective | undefined = settings.objective;
  return {
    namePrefix: settings.namePrefix ?? namePrefixFor(stackName),
    approval: settings.approval,
    instanceType: settings.instanceType,
    instanceCount: settings.instanceCount,
    spot: settings.spot,
    maxRuntime: settings.maxRuntimeHours === undefined ? undefined : Duration.hours(settings.maxRuntimeHours),
    hyperparameters: settings.hyperparameters,
    tuning: settings.tuning === true ? {} : settings.tuning === false ? undefined : settings.tuning,
    objective,
    schedule: settings.schedule === undefined ? undefined : events.Schedule.expression(settings.schedule),
    dataTrigger: settings.dataTrigger === false ? false : typeof settings.dataTrigger === 'string' ? { suffix: settings.dataTrigger } : {},
    batchTransform: settings.batchTransform,
  };
}
