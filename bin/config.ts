import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelStackSettings } from '../lib/model-stack-settings.ts';
import type { PipelineSettings } from '../lib/pipeline/pipeline-settings.ts';
import { TRAINING_INSTANCE_COUNT, TRAINING_INSTANCE_COUNT_EXPECTED } from '../lib/pipeline/training-instance-count.ts';
import { DIGEST_PATTERN } from '../model-runtime/src/artifact/expected-digest.ts';
import { METRIC_NAMES, type MetricName } from '../model-runtime/src/contract/metrics.ts';

/**
 * Reads the app's configuration from the CDK context and validates it, so that a mistake is
 * reported as `modelstack.autoscaling.maxCapacity: must be an integer from 1 to 100, got 500`
 * before anything is synthesized.
 *
 * Sources, later ones win key by key:
 *   1. `-c modelstack:config=path/to/config.json` (or the same key in cdk.json): a JSON file
 *   2. `-c modelstack='{"instanceType":"ml.m5.large"}'` (or an object under `modelstack` in cdk.json)
 */

/** Context key holding the settings object (or its JSON text). */
export const SETTINGS_CONTEXT_KEY = 'modelstack';
/** Context key naming a JSON config file, relative to the working directory. */
export const CONFIG_FILE_CONTEXT_KEY = 'modelstack:config';

export interface AppConfig {
  /** The CloudFormation stack name. @default 'ModelStack' */
  readonly stackName: string;
  readonly settings: ModelStackSettings;
  /** The training pipeline's settings, or false to leave the pipeline out. @default {} (all defaults) */
  readonly pipeline: PipelineSettings | false;
}

/** A configuration mistake; the message names the key and the allowed values. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reads both context keys through `tryGetContext` (e.g. `app.node.tryGetContext`). */
export function loadAppConfig(tryGetContext: (key: string) => unknown, cwd: string = process.cwd()): AppConfig {
  const file = tryGetContext(CONFIG_FILE_CONTEXT_KEY);
  let merged: Record<string, unknown> = {};
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '') {
      throw new ConfigError(`${CONFIG_FILE_CONTEXT_KEY}: must be the path of a JSON file, got ${JSON.stringify(file)}`);
    }
    const filePath = path.resolve(cwd, file);
    let text: string;
    try {
      text = fs.readFileSync(filePath, 'utf8');
    } catch (error) {
      throw new ConfigError(`${CONFIG_FILE_CONTEXT_KEY}: cannot read ${filePath}: ${(error as Error).message}`);
    }
    merged = { ...asObject(parseJson(text, filePath), filePath) };
  }
  const inline = tryGetContext(SETTINGS_CONTEXT_KEY);
  if (inline !== undefined) {
    const value = typeof inline === 'string' ? parseJson(inline, `context ${SETTINGS_CONTEXT_KEY}`) : inline;
    merged = { ...merged, ...asObject(value, SETTINGS_CONTEXT_KEY) };
  }
  return parseAppConfig(merged);
}

/** Validates one configuration object; see ModelStackSettings for every key's meaning. */
export function parseAppConfig(raw: unknown): AppConfig {
  const root = new ObjectReader(asObject(raw, SETTINGS_CONTEXT_KEY), SETTINGS_CONTEXT_KEY);
  const stackName = root.string('stackName', /^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name (a letter, then letters, digits or hyphens)') ?? 'ModelStack';
  const serverless = root.object('serverless');
  const vpc = root.object('vpc');
  const autoscaling = root.raw('autoscaling');
  const pipeline = root.raw('pipeline');
  const settings: ModelStackSettings = {
    endpointName: root.string('endpointName', /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, '1 to 63 letters, digits or hyphens, starting and ending with a letter or digit'),
    modelDataUrl: root.string('modelDataUrl', /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+\.tar\.gz$/, 'an S3 URL of a model archive, like "s3://my-bucket/models/job-1/output/model.tar.gz"'),
    modelDigest: root.string('modelDigest', DIGEST_PATTERN, "the model's sealed manifest digest, 64 hex characters"),
    instanceType: root.string('instanceType', /^ml\.[a-z]+\d+[a-z-]*\.[a-z0-9]+$/, 'a SageMaker instance type such as "ml.g5.xlarge" or "ml.m5.large"'),
    initialInstanceCount: root.integer('initialInstanceCount', 1, 100),
    serverless: serverless && {
      memorySizeInMb: serverless.oneOf('memorySizeInMb', [1024, 2048, 3072, 4096, 5120, 6144]),
      maxConcurrency: serverless.integer('maxConcurrency', 1, 200),
      provisionedConcurrency: serverless.integer('provisionedConcurrency', 1, 200),
    },
    asyncInference: root.boolean('asyncInference'),
    dataCapturePercent: root.integer('dataCapturePercent', 0, 100),
    networkIsolation: root.boolean('networkIsolation'),
    vpc: vpc && {
      vpcId: vpc.required(vpc.string('vpcId', /^vpc-[0-9a-f]+$/, 'a VPC ID like "vpc-0123456789abcdef0"'), 'vpcId'),
      subnetIds: vpc.required(vpc.stringArray('subnetIds', /^subnet-[0-9a-f]+$/, 'subnet IDs like "subnet-0123456789abcdef0"', 1, 16), 'subnetIds'),
      securityGroupIds: vpc.stringArray('securityGroupIds', /^sg-[0-9a-f]+$/, 'security group IDs like "sg-0123456789abcdef0"', 1, 5),
    },
    autoscaling: autoscaling === false ? false : parseAutoscaling(root, autoscaling),
    canaryPercent: root.integer('canaryPercent', 1, 99),
    canaryWaitMinutes: root.integer('canaryWaitMinutes', 0, 60),
    terminationWaitMinutes: root.integer('terminationWaitMinutes', 0, 60),
    alarmEmail: root.string('alarmEmail', /^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an e-mail address like "ops@example.com"'),
    latencyP99Ms: root.integer('latencyP99Ms', 1, 60_000),
    error5xxRatePercent: root.number('error5xxRatePercent', 0, 100),
    error4xxRatePercent: root.number('error4xxRatePercent', 0, 100),
    gpuMemoryPercent: root.number('gpuMemoryPercent', 1, 800),
    noncurrentVersionExpirationDays: root.integer('noncurrentVersionExpirationDays', 1, 3650),
    removalPolicy: root.oneOf('removalPolicy', ['retain', 'destroy']),
  };
  const pipelineSettings = pipeline === false ? false : parsePipeline(root, pipeline);
  root.rejectUnknownKeys();
  serverless?.rejectUnknownKeys();
  vpc?.rejectUnknownKeys();
  return { stackName, settings: withoutUndefined(settings), pipeline: pipelineSettings };
}

/** `pipeline`: an object of TrainingPipeline settings, or false to leave the pipeline out. Ranges are checked by the construct. */
function parsePipeline(root: ObjectReader, value: unknown): PipelineSettings {
  if (value === undefined) return {};
  const reader = root.required(root.object('pipeline', 'an object, or false to leave the training pipeline out'), 'pipeline');
  const hyperparameters = reader.object('hyperparameters', 'an object of hyperparameter names to string values, e.g. {"epochs": "30"}');
  const tuningValue = reader.raw('tuning');
  const tuning = typeof tuningValue === 'boolean' ? tuningValue : reader.object('tuning', 'true, false, or {"maxJobs": 12, "maxParallelJobs": 3}');
  const objective = reader.object('objective');
  const triggerValue = reader.raw('dataTrigger');
  const batchValue = reader.raw('batchTransform');
  const batch = batchValue === false ? undefined : reader.object('batchTransform', 'an object, or false to leave batch transform out');
  const parsed: PipelineSettings = {
    approval: reader.oneOf('approval', ['automatic', 'manual']),
    instanceType: reader.string('instanceType', /^ml\.[a-z]+\d+[a-z-]*\.[a-z0-9]+$/, 'a SageMaker instance type such as "ml.g5.2xlarge" or "ml.m5.xlarge"'),
    instanceCount: reader.integer('instanceCount', TRAINING_INSTANCE_COUNT.min, TRAINING_INSTANCE_COUNT.max, TRAINING_INSTANCE_COUNT_EXPECTED),
    spot: reader.boolean('spot'),
    maxRuntimeHours: reader.integer('maxRuntimeHours', 1, 120),
    hyperparameters: hyperparameters && hyperparameters.stringMap(),
    tuning: tuning instanceof ObjectReader ? withoutUndefined({ maxJobs: tuning.integer('maxJobs', 1, 500), maxParallelJobs: tuning.integer('maxParallelJobs', 1, 100) }) : tuning,
    objective: objective && withoutUndefined({
      metric: objective.oneOf<MetricName>('metric', METRIC_NAMES),
      goal: objective.oneOf('goal', ['minimize', 'maximize']),
      threshold: objective.number('threshold', -Number.MAX_VALUE, Number.MAX_VALUE),
    }),
    schedule: reader.string('schedule', /^(cron|rate)\(.+\)$/, 'cron(...) or rate(...), e.g. "rate(7 days)"'),
    dataTrigger: typeof triggerValue === 'boolean' ? triggerValue : reader.string('dataTrigger', /^.{1,1024}$/, 'true, false, or a key suffix such as "_SUCCESS"'),
    batchTransform: batchValue === false ? false : batch && withoutUndefined({ instanceType: batch.string('instanceType', /^ml\.[a-z]+\d+[a-z-]*\.[a-z0-9]+$/, 'a SageMaker instance type such as "ml.g5.xlarge"'), instanceCount: batch.integer('instanceCount', 1, 100) }),
  };
  if (tuning instanceof ObjectReader) tuning.rejectUnknownKeys();
  objective?.rejectUnknownKeys();
  batch?.rejectUnknownKeys();
  reader.rejectUnknownKeys();
  return withoutUndefined(parsed);
}

function parseAutoscaling(root: ObjectReader, value: unknown): ModelStackSettings['autoscaling'] {
  if (value === undefined) return undefined;
  const scaling = root.object('autoscaling', 'an object, or false to turn autoscaling off');
  if (scaling === undefined) return undefined;
  const minCapacity = scaling.integer('minCapacity', 1, 100);
  const maxCapacity = scaling.integer('maxCapacity', 1, 100);
  if (minCapacity !== undefined && maxCapacity !== undefined && minCapacity > maxCapacity) {
    throw new ConfigError(`${scaling.path}.minCapacity: must be at most maxCapacity (${maxCapacity}), got ${minCapacity}`);
  }
  const schedules = scaling.objectArray('schedules').map((schedule) => {
    const parsed = {
      name: schedule.required(schedule.string('name', /^[A-Za-z0-9-_]{1,64}$/, '1 to 64 letters, digits, hyphens or underscores'), 'name'),
      expression: schedule.required(schedule.string('expression', /^(cron|rate|at)\(.+\)$/, 'cron(...), rate(...) or at(...), e.g. "cron(0 8 ? * MON-FRI *)"'), 'expression'),
      minCapacity: schedule.integer('minCapacity', 1, 100),
      maxCapacity: schedule.integer('maxCapacity', 1, 100),
      timeZone: schedule.string('timeZone', /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/, 'an IANA time zone such as "Europe/Berlin"'),
    };
    schedule.rejectUnknownKeys();
    return withoutUndefined(parsed);
  });
  const parsed = {
    minCapacity,
    maxCapacity,
    targetInvocationsPerInstance: scaling.integer('targetInvocationsPerInstance', 1, 100_000),
    scaleInCooldownSeconds: scaling.integer('scaleInCooldownSeconds', 0, 3600),
    scaleOutCooldownSeconds: scaling.integer('scaleOutCooldownSeconds', 0, 3600),
    schedules: schedules.length > 0 ? schedules : undefined,
  };
  scaling.rejectUnknownKeys();
  return withoutUndefined(parsed);
}

/** Reads typed fields of one JSON object and remembers which keys it read. */
class ObjectReader {
  private readonly read = new Set<string>();

  constructor(
    private readonly value: Record<string, unknown>,
    readonly path: string,
  ) {}

  raw(key: string): unknown {
    this.read.add(key);
    return this.value[key];
  }

  string(key: string, pattern: RegExp, expected: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !pattern.test(value)) this.fail(key, expected, value);
    return value;
  }

  /** `expected` replaces the plain range in the message where the range needs a reason. */
  integer(key: string, min: number, max: number, expected = `an integer from ${min} to ${max}`): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(key, expected, value);
    }
    return value;
  }

  number(key: string, min: number, max: number): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      this.fail(key, `a number from ${min} to ${max}`, value);
    }
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') this.fail(key, 'true or false', value);
    return value;
  }

  oneOf<T extends string | number>(key: string, allowed: ReadonlyArray<T>): T | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (!allowed.includes(value as T)) this.fail(key, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
    return value as T;
  }

  object(key: string, expected: string = 'an object'): ObjectReader | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (!isPlainObject(value)) this.fail(key, expected, value);
    return new ObjectReader(value, `${this.path}.${key}`);
  }

  objectArray(key: string): ObjectReader[] {
    const value = this.raw(key);
    if (value === undefined) return [];
    if (!Array.isArray(value)) this.fail(key, 'an array of objects', value);
    return value.map((item, index) => {
      if (!isPlainObject(item)) this.fail(`${key}[${index}]`, 'an object', item);
      return new ObjectReader(item, `${this.path}.${key}[${index}]`);
    });
  }

  stringArray(key: string, pattern: RegExp, expected: string, minItems: number, maxItems: number): string[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    const ok = Array.isArray(value) && value.length >= minItems && value.length <= maxItems && value.every((item) => typeof item === 'string' && pattern.test(item));
    if (!ok) this.fail(key, `an array of ${minItems} to ${maxItems} ${expected}`, value);
    return value as string[];
  }

  /** Every key of this object, each value a string (SageMaker hyperparameters are strings). */
  stringMap(): Record<string, string> {
    for (const [key, value] of Object.entries(this.value)) {
      this.read.add(key);
      if (typeof value !== 'string') this.fail(key, 'a string (hyperparameter values are strings, e.g. "0.01")', value);
    }
    return { ...(this.value as Record<string, string>) };
  }

  required<T>(value: T | undefined, key: string): T {
    if (value === undefined) throw new ConfigError(`${this.path}.${key}: is required`);
    return value;
  }

  rejectUnknownKeys(): void {
    const unknown = Object.keys(this.value).filter((key) => !this.read.has(key));
    if (unknown.length > 0) {
      throw new ConfigError(`${this.path}: unknown key ${unknown.map((k) => JSON.stringify(k)).join(', ')}; allowed keys are ${[...this.read].join(', ')}`);
    }
  }

  private fail(key: string, expected: string, got: unknown): never {
    throw new ConfigError(`${this.path}.${key}: must be ${expected}, got ${JSON.stringify(got)}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asObject(value: unknown, source: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw new ConfigError(`${source}: must be a JSON object, got ${JSON.stringify(value)}`);
  return value;
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${source}: is not valid JSON: ${(error as Error).message}`);
  }
}

/** Drops keys whose value is undefined, so defaults stay defaults and snapshots stay small. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
