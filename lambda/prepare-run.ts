/**
 * First step of a training run: turns the execution's input (manual start, S3 upload event or
 * schedule) into everything later steps need, with names that depend only on the execution, so
 * a retried or redriven step never starts a second training job.
 *
 * Execution input (all optional):
 *   { "dataPrefix": "data/churn/", "mode": "train" | "tune",
 *     "hyperparameters": { "epochs": 20, "learning_rate": "0.01" } }
 * or, from the S3 trigger, { "trigger": "s3", "objectKey": "data/churn/part-0001.csv" }, which
 * trains on the folder the new object landed in.
 */
import { HyperparameterError, parseHyperparameters } from '../model-runtime/src/contract/hyperparameters.ts';
import { InvalidInputError } from './shared/errors.ts';
import { createLogger } from './shared/logger.ts';
import { shortHash } from './shared/names.ts';

export type RunMode = 'train' | 'tune';

export interface RunInput {
  readonly trigger?: string;
  readonly objectKey?: string;
  readonly dataPrefix?: string;
  readonly mode?: RunMode;
  readonly hyperparameters?: Readonly<Record<string, string | number | boolean>>;
}

export interface PrepareRunEvent {
  readonly input: RunInput | null;
  /** `$$.Execution.Id` */
  readonly executionId: string;
  /** `$$.Execution.StartTime` (ISO 8601) */
  readonly startTime: string;
  readonly config: {
    readonly namePrefix: string;
    readonly bucketName: string;
    readonly dataPrefix: string;
    readonly modelsPrefix: string;
    readonly checkpointsPrefix: string;
    readonly hyperparameters: Readonly<Record<string, string>>;
    /** Hyperparameters the tuning job searches; empty when tuning is not configured. */
    readonly tunedHyperparameters: readonly string[];
  };
}

export interface RunPlan {
  readonly runId: string;
  readonly mode: RunMode;
  readonly trainingJobName: string;
  readonly tuningJobName: string;
  readonly trainingDataUri: string;
  readonly outputUri: string;
  readonly checkpointUri: string;
  /** Every hyperparameter for a single training job, as strings (SageMaker's format). */
  readonly hyperparameters: Record<string, string>;
  /** The same without the tuned ones: the tuning job's StaticHyperParameters. */
  readonly staticHyperparameters: Record<string, string>;
}

/** SageMaker limits: 100 hyperparameters, names up to 256 characters, values up to 2500. */
const MAX_HYPERPARAMETERS = 100;
const HYPERPARAMETER_NAME = /^[a-z][a-z0-9_]{0,255}$/;
const MAX_VALUE_LENGTH = 2500;

const logger = createLogger('prepare');

export async function handler(event: PrepareRunEvent): Promise<RunPlan> {
  const input = event.input ?? {};
  const { config } = event;
  const tuningAvailable = config.tunedHyperparameters.length > 0;
  const mode = input.mode ?? (tuningAvailable ? 'tune' : 'train');
  if (mode !== 'train' && mode !== 'tune') {
    throw new InvalidInputError(`mode must be "train" or "tune", got ${JSON.stringify(mode)}`);
  }
  if (mode === 'tune' && !tuningAvailable) {
    throw new InvalidInputError('mode "tune" needs the TrainingPipeline `tuning` prop; this pipeline only trains single jobs (use "train")');
  }

  const runId = runIdFor(event.executionId, event.startTime);
  // Tuning job names are limited to 32 characters; the construct keeps the prefix short enough.
  const jobName = `${config.namePrefix}-${runId}`;
  const hyperparameters = mergeHyperparameters(config.hyperparameters, input.hyperparameters ?? {});
  const tuned = new Set(config.tunedHyperparameters);
  const staticHyperparameters = Object.fromEntries(Object.entries(hyperparameters).filter(([name]) => !tuned.has(name)));
  const dataPrefix = resolveDataPrefix(config.dataPrefix, input);
  const plan: RunPlan = {
    runId,
    mode,
    trainingJobName: jobName,
    tuningJobName: jobName,
    trainingDataUri: `s3://${config.bucketName}/${dataPrefix}`,
    outputUri: `s3://${config.bucketName}/${config.modelsPrefix}`,
    checkpointUri: `s3://${config.bucketName}/${config.checkpointsPrefix}${jobName}/`,
    hyperparameters,
    staticHyperparameters,
  };
  logger.info('run planned', { trigger: input.trigger ?? 'manual', ...plan });
  return plan;
}

/** `yyMMddHHmmss-<4 hex of the execution ARN>`: sortable, and unique per execution. */
export function runIdFor(executionId: string, startTime: string): string {
  const start = new Date(startTime);
  if (Number.isNaN(start.getTime())) throw new InvalidInputError(`startTime must be an ISO 8601 time, got ${JSON.stringify(startTime)}`);
  const stamp = start.toISOString().replace(/[-:T]/g, '').slice(2, 14);
  return `${stamp}-${shortHash(executionId, 4)}`;
}

function mergeHyperparameters(
  defaults: Readonly<Record<string, string>>,
  overrides: Readonly<Record<string, string | number | boolean>>,
): Record<string, string> {
  if (typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new InvalidInputError(`hyperparameters must be an object of name -> value, got ${JSON.stringify(overrides)}`);
  }
  const merged: Record<string, string> = { ...defaults };
  for (const [name, value] of Object.entries(overrides)) {
    if (!HYPERPARAMETER_NAME.test(name)) {
      throw new InvalidInputError(`hyperparameter name ${JSON.stringify(name)} must be snake_case (e.g. learning_rate, batch_size)`);
    }
    if (!['string', 'number', 'boolean'].includes(typeof value) || String(value).length > MAX_VALUE_LENGTH) {
      throw new InvalidInputError(`hyperparameter ${name} must be a string, number or boolean of at most ${MAX_VALUE_LENGTH} characters, got ${JSON.stringify(value)}`);
    }
    merged[name] = String(value);
  }
  if (Object.keys(merged).length > MAX_HYPERPARAMETERS) {
    throw new InvalidInputError(`at most ${MAX_HYPERPARAMETERS} hyperparameters are allowed, got ${Object.keys(merged).length}`);
  }
  // The runtime's parser, before a training job is started on them: a bad override fails this
  // step, naming the key, instead of the job after its instance has started.
  try {
    parseHyperparameters(merged);
  } catch (error) {
    if (error instanceof HyperparameterError) throw new InvalidInputError(`hyperparameters: ${error.message}`);
    throw error;
  }
  return merged;
}

/** The S3 prefix to train on; always inside the store's data prefix (the training role reads only there). */
function resolveDataPrefix(storeDataPrefix: string, input: RunInput): string {
  let prefix = storeDataPrefix;
  if (input.objectKey !== undefined) {
    const slash = input.objectKey.lastIndexOf('/');
    prefix = slash < 0 ? '' : input.objectKey.slice(0, slash + 1);
  } else if (input.dataPrefix !== undefined) {
    prefix = input.dataPrefix.endsWith('/') ? input.dataPrefix : `${input.dataPrefix}/`;
  }
  if (!prefix.startsWith(storeDataPrefix) || prefix.split('/').includes('..')) {
    throw new InvalidInputError(
      `training data must be under ${storeDataPrefix} in the model store, got ${JSON.stringify(input.objectKey ?? input.dataPrefix)}`,
    );
  }
  return prefix;
}
