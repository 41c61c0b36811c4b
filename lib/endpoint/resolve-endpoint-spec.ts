import type { Duration } from 'aws-cdk-lib';
import { Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { EXPECTED_DIGEST_ENV, digestProblem } from '../../model-runtime/src/artifact/expected-digest.ts';
import { CAPTURE_CSV_CONTENT_TYPES, CAPTURE_JSON_CONTENT_TYPES } from '../../model-runtime/src/contract/capture-content-types.ts';
import { describeInstanceType } from '../instance-type.ts';
import type { ModelStore } from '../model-store.ts';
import { PropValidationError, requireIntegerInRange, requireMatch } from '../validation.ts';
import { resolveEndpointAutoScaling, type EndpointAutoScalingOptions } from './endpoint-autoscaling.ts';
import { ENDPOINT_DEFAULTS, modelContainerEnvironment, type DataCaptureSpec, type DeploymentSpec, type EndpointSpec, type VariantSpec } from './endpoint-spec.ts';

/** A serverless variant: SageMaker runs the container on demand, CPU only, billed per request. */
export interface ServerlessVariantOptions {
  /**
   * Memory per concurrent invocation, in MB: 1024, 2048, 3072, 4096, 5120 or 6144.
   * @default 2048
   */
  readonly memorySizeInMb?: number;
  /**
   * Concurrent invocations before throttling.
   * @default 5 (allowed 1 to 200)
   */
  readonly maxConcurrency?: number;
  /**
   * Invocations kept warm (billed while idle), up to maxConcurrency.
   * @default none: every instance starts cold
   */
  readonly provisionedConcurrency?: number;
}

/** Data capture: SageMaker records requests and responses to the store's capture/ prefix. */
export interface DataCaptureOptions {
  /**
   * Whether to capture at all.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Percentage of requests captured.
   * @default 100 (allowed 0 to 100)
   */
  readonly samplingPercentage?: number;
}

/** Blue/green updates that shift a canary share of capacity first, and roll back on alarms. */
export interface CanaryDeploymentOptions {
  /**
   * Share of the new fleet's capacity that takes traffic first, in percent.
   * @default 10 (allowed 1 to 99)
   */
  readonly canaryPercent?: number;
  /**
   * How long the canary is watched (alarms evaluated) before all traffic moves.
   * @default Duration.minutes(5) (allowed 0 to 60 minutes)
   */
  readonly canaryWait?: Duration;
  /**
   * How long the old (blue) fleet is kept after the shift, ready for a rollback.
   * @default Duration.minutes(5) (allowed 0 to 60 minutes)
   */
  readonly terminationWait?: Duration;
}

/** An endpoint's settings as a user writes them: every optional one has a documented default. */
export interface EndpointSpecProps {
  /** The store captured data is written to; its key encrypts volumes and captured data. */
  readonly modelStore: ModelStore;

  /** The endpoint's name, fixed at synth so alarms and the pipeline can name it. */
  readonly endpointName: string;

  /**
   * The production variant's name; blue/green updates must keep it.
   * @default 'AllTraffic'
   */
  readonly variantName?: string;

  /**
   * The instance type of the (non-serverless) variant. GPU families use the CUDA
   * execution provider; CPU families are allowed. Types with local NVMe storage
   * (g4dn, g5, g6, g6e, p3dn, p4d, p5, m5d, c5d, r5d, ...) get no KMS key on the endpoint
   * configuration: SageMaker rejects one there and encrypts those volumes in hardware.
   * @default 'ml.g5.xlarge'
   */
  readonly instanceType?: string;

  /**
   * Instances at creation (autoscaling adjusts it later).
   * @default 1 (allowed 1 to 100)
   */
  readonly initialInstanceCount?: number;

  /**
   * Use a serverless variant instead of instances. Serverless endpoints have no GPU, VPC,
   * network isolation, data capture, async inference or instance autoscaling.
   * @default instances
   */
  readonly serverless?: ServerlessVariantOptions;

  /**
   * Data capture of requests and responses.
   * @default enabled, 100 percent
   */
  readonly dataCapture?: DataCaptureOptions;

  /**
   * Blue/green canary settings used when the endpoint is updated.
   * @default 10 percent canary, 5 minutes watched, old fleet kept 5 minutes
   */
  readonly deployment?: CanaryDeploymentOptions;

  /**
   * Alarms that roll an update back while they fire (at most 10).
   * @default none
   */
  readonly rollbackAlarms?: ReadonlyArray<cloudwatch.IAlarm>;

  /**
   * Instance autoscaling the training pipeline registers after each deployment, for an endpoint
   * the pipeline creates; `false` turns it off. Serverless variants scale by themselves and get none.
   * @default none: CloudFormation scales the endpoint (InferenceEndpoint.autoScaleInstanceCount), or nothing does
   */
  readonly autoScaling?: EndpointAutoScalingOptions | false;
}

const SERVERLESS_MEMORY_SIZES = [1024, 2048, 3072, 4096, 5120, 6144];
const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const NAME_EXPECTED = '1 to 63 letters, digits or hyphens, starting and ending with a letter or digit';
/** SageMaker accepts at most 10 alarms in AutoRollbackConfiguration. */
const MAX_ROLLBACK_ALARMS = 10;

/**
 * The endpoint's settings with every default applied and validated at synth (a
 * PropValidationError names the prop and the allowed range). InferenceEndpoint renders the
 * result as CloudFormation; the training pipeline hands it to the deploy step, which renders it
 * as SageMaker API calls for an endpoint it creates.
 */
export function resolveEndpointSpec(props: EndpointSpecProps): EndpointSpec {
  requireMatch('InferenceEndpoint.endpointName', props.endpointName, NAME, NAME_EXPECTED);
  const variant = resolveVariant(props);
  const store = props.modelStore;
  const instanceType = variant.kind === 'instances' ? describeInstanceType('InferenceEndpoint.instanceType', variant.instanceType) : undefined;
  const dataCapture = resolveDataCapture(props, variant);
  return {
    endpointName: props.endpointName,
    variant,
    // SageMaker rejects KmsKeyId for instance types with local NVMe storage (encrypted in
    // hardware), and a serverless variant has no ML storage volume to encrypt.
    ...(instanceType !== undefined && !instanceType.nvmeInstanceStorage ? { kmsKeyId: store.key.keyArn } : {}),
    ...(dataCapture === undefined ? {} : { dataCapture }),
    deployment: resolveDeployment(props),
    ...(props.autoScaling === undefined
      ? {}
      : {
          autoScaling:
            variant.kind === 'serverless' || props.autoScaling === false
              ? false
              : resolveEndpointAutoScaling(props.autoScaling, { instanceType: variant.instanceType, initialInstanceCount: variant.initialInstanceCount }),
        }),
  };
}

function resolveVariant(props: EndpointSpecProps): VariantSpec {
  const variantName = props.variantName ?? ENDPOINT_DEFAULTS.variantName;
  requireMatch('InferenceEndpoint.variantName', variantName, NAME, NAME_EXPECTED);
  const serverless = props.serverless;
  if (serverless === undefined) {
    const instanceType = describeInstanceType('InferenceEndpoint.instanceType', props.instanceType ?? ENDPOINT_DEFAULTS.instanceType);
    if (instanceType.burstable) {
      throw new PropValidationError(
        'InferenceEndpoint.instanceType',
        `burstable ${instanceType.name} runs out of CPU credits under sustained inference; use a GPU type (default ${ENDPOINT_DEFAULTS.instanceType}) or a non-burstable CPU type such as ml.m5.large, ml.c5.xlarge or ml.c7g.large`,
      );
    }
    const initialInstanceCount = props.initialInstanceCount ?? ENDPOINT_DEFAULTS.initialInstanceCount;
    requireIntegerInRange('InferenceEndpoint.initialInstanceCount', initialInstanceCount, 1, 100);
    return { kind: 'instances', variantName, instanceType: instanceType.name, initialInstanceCount };
  }
  const memorySizeInMb = serverless.memorySizeInMb ?? ENDPOINT_DEFAULTS.serverlessMemorySizeInMb;
  if (!Token.isUnresolved(memorySizeInMb) && !SERVERLESS_MEMORY_SIZES.includes(memorySizeInMb)) {
    throw new PropValidationError('InferenceEndpoint.serverless.memorySizeInMb', `must be one of ${SERVERLESS_MEMORY_SIZES.join(', ')}, got ${memorySizeInMb}`);
  }
  const maxConcurrency = serverless.maxConcurrency ?? ENDPOINT_DEFAULTS.serverlessMaxConcurrency;
  requireIntegerInRange('InferenceEndpoint.serverless.maxConcurrency', maxConcurrency, 1, 200);
  requireIntegerInRange('InferenceEndpoint.serverless.provisionedConcurrency', serverless.provisionedConcurrency, 1, maxConcurrency);
  const unsupported: Array<[string, boolean]> = [
    ['instanceType', props.instanceType !== undefined],
    ['dataCapture', props.dataCapture?.enabled === true || props.dataCapture?.samplingPercentage !== undefined],
  ];
  for (const [prop, set] of unsupported) {
    if (set) throw serverlessUnsupported(prop);
  }
  return {
    kind: 'serverless',
    variantName,
    memorySizeInMb,
    maxConcurrency,
    ...(serverless.provisionedConcurrency === undefined ? {} : { provisionedConcurrency: serverless.provisionedConcurrency }),
  };
}

/**
 * InferenceEndpoint's `modelDigest` (64 hex characters, lowercased) and the container environment
 * it goes into; the digest cannot also be given through `environment`, where it would escape
 * this check.
 */
export function resolveModelEnvironment(
  modelDigest: string | undefined,
  environment: Readonly<Record<string, string>> | undefined,
): Record<string, string> | undefined {
  if (environment !== undefined && EXPECTED_DIGEST_ENV in environment) {
    throw new PropValidationError('InferenceEndpoint.environment', `must not set ${EXPECTED_DIGEST_ENV}; give the digest as \`modelDigest\`, which is checked at synth`);
  }
  if (modelDigest === undefined || Token.isUnresolved(modelDigest)) return modelContainerEnvironment(modelDigest, environment);
  const problem = digestProblem(modelDigest);
  if (problem !== undefined) throw new PropValidationError('InferenceEndpoint.modelDigest', problem);
  return modelContainerEnvironment(modelDigest.toLowerCase(), environment);
}

/** The error for a prop that a serverless variant cannot have. */
export function serverlessUnsupported(prop: string): PropValidationError {
  return new PropValidationError(
    `InferenceEndpoint.${prop}`,
    'is not supported with a serverless variant (SageMaker Serverless Inference has no instances, GPUs, VPC, network isolation, data capture or async mode); remove it or remove `serverless`',
  );
}

function resolveDataCapture(props: EndpointSpecProps, variant: VariantSpec): DataCaptureSpec | undefined {
  const samplingPercentage = props.dataCapture?.samplingPercentage ?? ENDPOINT_DEFAULTS.dataCaptureSamplingPercentage;
  requireIntegerInRange('InferenceEndpoint.dataCapture.samplingPercentage', props.dataCapture?.samplingPercentage, 0, 100);
  if (variant.kind === 'serverless' || props.dataCapture?.enabled === false || samplingPercentage === 0) return undefined;
  const store = props.modelStore;
  return {
    destinationS3Uri: store.urlForObject(`${store.capturePrefix}${props.endpointName}/`),
    samplingPercentage,
    kmsKeyId: store.key.keyArn,
    jsonContentTypes: [...CAPTURE_JSON_CONTENT_TYPES],
    csvContentTypes: [...CAPTURE_CSV_CONTENT_TYPES],
  };
}

function resolveDeployment(props: EndpointSpecProps): DeploymentSpec {
  const deployment = props.deployment ?? {};
  const canaryPercent = deployment.canaryPercent ?? ENDPOINT_DEFAULTS.canaryPercent;
  const canaryWaitSeconds = deployment.canaryWait?.toSeconds() ?? ENDPOINT_DEFAULTS.canaryWaitSeconds;
  const terminationWaitSeconds = deployment.terminationWait?.toSeconds() ?? ENDPOINT_DEFAULTS.terminationWaitSeconds;
  requireIntegerInRange('InferenceEndpoint.deployment.canaryPercent', canaryPercent, 1, 99);
  requireIntegerInRange('InferenceEndpoint.deployment.canaryWait (seconds)', canaryWaitSeconds, 0, 3600);
  requireIntegerInRange('InferenceEndpoint.deployment.terminationWait (seconds)', terminationWaitSeconds, 0, 3600);
  const alarms = props.rollbackAlarms ?? [];
  const tooMany = tooManyRollbackAlarms(alarms.length);
  if (tooMany !== undefined) throw tooMany;
  return { canaryPercent, canaryWaitSeconds, terminationWaitSeconds, rollbackAlarmNames: alarms.map((alarm) => alarm.alarmName) };
}

/** The error when `count` alarms are more than AutoRollbackConfiguration accepts. */
export function tooManyRollbackAlarms(count: number): PropValidationError | undefined {
  return count > MAX_ROLLBACK_ALARMS
    ? new PropValidationError('InferenceEndpoint.rollbackAlarms', `at most ${MAX_ROLLBACK_ALARMS} alarms are allowed, got ${count}`)
    : undefined;
}
