import { Duration, Token } from 'aws-cdk-lib';
import type * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type { ModelStore } from '../model-store.ts';
import { PropValidationError, requireIntegerInRange, requireMatch } from '../validation.ts';
import { describeGpus, GPU_INSTANCES, gpuInstance, totalGpuMemoryGiB, type GpuInstance } from './gpu-instances.ts';
import { LMI_DEFAULT_VERSION, type LmiVersion } from './lmi-image.ts';

/**
 * A model served by SageMaker's Large Model Inference container (djl-serving with vLLM) rather
 * than by this runtime: the weights (from the model store or the Hugging Face hub), the vLLM
 * settings LMI reads from its environment, and the synth-time checks that the instance can hold
 * the model.
 */

/** Where LMI loads the model from. */
export abstract class LmiModel {
  /**
   * Weights in the endpoint's model store, uncompressed under `keyPrefix` (the Hugging Face
   * layout: config.json, *.safetensors, tokenizer files), e.g. `models/llama-3.1-8b-instruct/`.
   * SageMaker copies the prefix to /opt/ml/model before the container starts, so the endpoint
   * keeps network isolation.
   */
  static fromModelStore(keyPrefix: string): LmiModel {
    return new StoreModel(keyPrefix);
  }

  /**
   * A Hugging Face hub model id, e.g. `mistralai/Mistral-7B-Instruct-v0.3`, which the container
   * downloads when it starts: the endpoint needs network access (`networkIsolation: false`, and
   * outbound internet from its VPC if it has one). Gated models (meta-llama/...) also need an
   * HF_TOKEN, which `environment` would show in the template and in DescribeModel: prefer copying
   * such models into the model store.
   */
  static fromHuggingFaceHub(modelId: string, options: HuggingFaceHubOptions = {}): LmiModel {
    return new HubModel(modelId, options.revision);
  }

  /** @internal */
  abstract readonly kind: 'store' | 'hub';
}

/** A hub model's version. */
export interface HuggingFaceHubOptions {
  /**
   * The commit (or branch or tag) to load; a commit hash keeps every instance on the same weights.
   * @default the hub's default branch at container start
   */
  readonly revision?: string;
}

class StoreModel extends LmiModel {
  readonly kind = 'store';
  constructor(readonly keyPrefix: string) {
    super();
  }
}

class HubModel extends LmiModel {
  readonly kind = 'hub';
  constructor(
    readonly modelId: string,
    readonly revision: string | undefined,
  ) {
    super();
  }
}

/** The weights' data type (LMI's `option.dtype`), which sets the bytes per parameter. */
export type LmiDtype = 'fp16' | 'bf16' | 'fp32';

const BYTES_PER_PARAMETER: Readonly<Record<LmiDtype, number>> = { fp16: 2, bf16: 2, fp32: 4 };

/** The documented defaults of an LMI engine. */
export const LMI_DEFAULTS = {
  /** LMI's own default data type. */
  dtype: 'fp16' as LmiDtype,
  /**
   * GPU memory beyond the weights, as a fraction of them, for the KV cache and activations: the
   * memory check's margin, not a vLLM setting.
   */
  memoryOverheadFraction: 0.2,
  /** Loading tens of GB of weights onto GPUs takes minutes; SageMaker's own default is shorter. */
  containerStartupHealthCheckTimeoutSeconds: 1800,
  /** Copying an uncompressed model of tens of GB from S3 to the instance. */
  modelDataDownloadTimeoutSeconds: 1800,
} as const;

/** A model served by LMI with vLLM; every optional setting has a documented default. */
export interface LmiEngineOptions {
  /** Where the weights come from. */
  readonly model: LmiModel;

  /**
   * The model's parameter count, e.g. `8e9` for an 8B model. When given, synth refuses an instance
   * type whose GPUs (those of one tensor-parallel group) cannot hold the weights in `dtype` plus
   * 20% for the KV cache and activations.
   * @default unknown: GPU memory is not checked
   */
  readonly parameterCount?: number;

  /**
   * GPUs each copy of the model is sharded across (OPTION_TENSOR_PARALLEL_DEGREE). It must divide
   * the instance's GPU count; LMI runs GPU count / degree copies of the model on each instance.
   * vLLM also needs it to divide the model's attention heads, which synth cannot see.
   * @default the instance type's GPU count (one copy across all GPUs, LMI's `max`)
   */
  readonly tensorParallelDegree?: number;

  /**
   * The longest prompt plus generation, in tokens (OPTION_MAX_MODEL_LEN); shorter leaves more
   * memory for the KV cache of concurrent requests.
   * @default the model's own (config.json's max_position_embeddings) (allowed 1 to 1,048,576)
   */
  readonly maxModelLength?: number;

  /**
   * Requests one model copy generates for at once in its rolling (continuous) batch
   * (OPTION_MAX_ROLLING_BATCH_SIZE); more wait in LMI's queue.
   * @default LMI's own, 256 (allowed 1 to 1024)
   */
  readonly maxRollingBatchSize?: number;

  /**
   * The weights' data type (OPTION_DTYPE). bf16 runs on every GPU type in the table (Ampere and newer).
   * @default 'fp16'
   */
  readonly dtype?: LmiDtype;

  /**
   * The LMI image tag.
   * @default LmiVersion.V20 (0.36.0-lmi20.0.0-cu128-v1.0)
   */
  readonly version?: LmiVersion;

  /**
   * How long the container may take to answer its first /ping (loading the weights onto the GPUs).
   * @default Duration.minutes(30) (allowed 60 seconds to 60 minutes)
   */
  readonly containerStartupHealthCheckTimeout?: Duration;

  /**
   * How long SageMaker may take to copy a model-store model to the instance (not used for hub models,
   * which the container downloads within the startup health check timeout).
   * @default Duration.minutes(30) (allowed 60 seconds to 60 minutes)
   */
  readonly modelDataDownloadTimeout?: Duration;
}

/** How an InferenceEndpoint serves its model: this runtime (the `image` and `modelDataUrl` props) or LMI. */
export class InferenceEngine {
  /** SageMaker's Large Model Inference container with vLLM, for models too large for one GPU. */
  static lmi(options: LmiEngineOptions): InferenceEngine {
    return new InferenceEngine(options);
  }

  private constructor(
    /** The LMI settings as given. */
    readonly lmi: LmiEngineOptions,
  ) {}
}

/** Where the LMI endpoint stands, as its checks need it. */
export interface LmiTarget {
  /** The variant's instance type; undefined for a serverless variant. */
  readonly instanceType: string | undefined;
  readonly networkIsolation: boolean | undefined;
  readonly modelStore: ModelStore;
}

/** The LMI engine, defaults applied and checked against the instance type. */
export interface ResolvedLmi {
  readonly instance: GpuInstance;
  readonly tensorParallelDegree: number;
  readonly dtype: LmiDtype;
  readonly version: LmiVersion;
  /** The container's LMI settings. */
  readonly environment: Readonly<Record<string, string>>;
  /** ModelDataSource for a model-store model; undefined for a hub model. */
  readonly modelDataSource: sagemaker.CfnModel.ModelDataSourceProperty | undefined;
  /** The store prefix the role must read, for a model-store model. */
  readonly modelPrefix: string | undefined;
  /** A hub model needs network access; a store model keeps the default isolation. */
  readonly networkIsolation: boolean;
  readonly containerStartupHealthCheckTimeoutInSeconds: number;
  readonly modelDataDownloadTimeoutInSeconds: number | undefined;
}

/** The environment variables the engine sets; `environment` may not set them too. */
export const LMI_ENVIRONMENT_KEYS = [
  'HF_MODEL_ID',
  'OPTION_MODEL_ID',
  'OPTION_REVISION',
  'OPTION_ROLLING_BATCH',
  'OPTION_TENSOR_PARALLEL_DEGREE',
  'TENSOR_PARALLEL_DEGREE',
  'OPTION_DTYPE',
  'OPTION_MAX_MODEL_LEN',
  'OPTION_MAX_ROLLING_BATCH_SIZE',
] as const;

const PREFIX = 'InferenceEndpoint.engine';
const STORE_KEY_PREFIX = /^[^/].*\/$/;
const HUB_MODEL_ID = /^([A-Za-z0-9][\w.-]{0,95}\/)?[A-Za-z0-9][\w.-]{0,95}$/;
const HUB_REVISION = /^[\w./-]{1,128}$/;
const BYTES_PER_GIB = 1024 ** 3;

/** Applies the defaults of `lmi` and refuses, with the numbers, what the instance cannot run. */
export function resolveLmi(lmi: LmiEngineOptions, target: LmiTarget): ResolvedLmi {
  const instance = requireGpuInstance(target.instanceType);
  const dtype = lmi.dtype ?? LMI_DEFAULTS.dtype;
  if (!(dtype in BYTES_PER_PARAMETER)) {
    throw new PropValidationError(`${PREFIX}.dtype`, `must be one of ${Object.keys(BYTES_PER_PARAMETER).join(', ')}, got ${JSON.stringify(dtype)}`);
  }
  const tensorParallelDegree = lmi.tensorParallelDegree ?? instance.gpuCount;
  requireIntegerInRange(`${PREFIX}.tensorParallelDegree`, tensorParallelDegree, 1, 64);
  if (instance.gpuCount % tensorParallelDegree !== 0) {
    throw new PropValidationError(
      `${PREFIX}.tensorParallelDegree`,
      `${tensorParallelDegree} does not divide the ${instance.gpuCount} GPUs of ${instance.instanceType}; use one of ${divisors(instance.gpuCount).join(', ')}`,
    );
  }
  requireIntegerInRange(`${PREFIX}.parameterCount`, lmi.parameterCount, 1, 1e13);
  if (lmi.parameterCount !== undefined) requireMemory(lmi.parameterCount, dtype, instance, tensorParallelDegree);
  requireIntegerInRange(`${PREFIX}.maxModelLength`, lmi.maxModelLength, 1, 1_048_576);
  requireIntegerInRange(`${PREFIX}.maxRollingBatchSize`, lmi.maxRollingBatchSize, 1, 1024);
  const startup = timeoutSeconds('containerStartupHealthCheckTimeout', lmi.containerStartupHealthCheckTimeout, LMI_DEFAULTS.containerStartupHealthCheckTimeoutSeconds);
  const download = timeoutSeconds('modelDataDownloadTimeout', lmi.modelDataDownloadTimeout, LMI_DEFAULTS.modelDataDownloadTimeoutSeconds);

  const settings: Record<string, string> = {
    OPTION_ROLLING_BATCH: 'vllm',
    OPTION_TENSOR_PARALLEL_DEGREE: String(tensorParallelDegree),
    OPTION_DTYPE: dtype,
    ...(lmi.maxModelLength === undefined ? {} : { OPTION_MAX_MODEL_LEN: String(lmi.maxModelLength) }),
    ...(lmi.maxRollingBatchSize === undefined ? {} : { OPTION_MAX_ROLLING_BATCH_SIZE: String(lmi.maxRollingBatchSize) }),
  };
  const common = { instance, tensorParallelDegree, dtype, version: lmi.version ?? LMI_DEFAULT_VERSION, containerStartupHealthCheckTimeoutInSeconds: startup };
  const model = lmi.model;
  if (model instanceof StoreModel) {
    requireMatch(`${PREFIX}.model (fromModelStore keyPrefix)`, model.keyPrefix, STORE_KEY_PREFIX, 'a key prefix in the model store ending in "/", like "models/llama-3.1-8b-instruct/"');
    return {
      ...common,
      // SageMaker copies the prefix to /opt/ml/model; LMI loads from there.
      environment: { OPTION_MODEL_ID: '/opt/ml/model', ...settings },
      modelDataSource: {
        s3DataSource: { s3Uri: target.modelStore.urlForObject(model.keyPrefix), s3DataType: 'S3Prefix', compressionType: 'None' },
      },
      modelPrefix: model.keyPrefix,
      networkIsolation: target.networkIsolation ?? true,
      modelDataDownloadTimeoutInSeconds: download,
    };
  }
  if (model instanceof HubModel) {
    requireMatch(`${PREFIX}.model (fromHuggingFaceHub modelId)`, model.modelId, HUB_MODEL_ID, 'a Hugging Face hub model id like "mistralai/Mistral-7B-Instruct-v0.3"');
    requireMatch(`${PREFIX}.model (fromHuggingFaceHub revision)`, model.revision, HUB_REVISION, 'a commit hash, branch or tag of the hub repository');
    if (target.networkIsolation === true) {
      throw new PropValidationError(
        'InferenceEndpoint.networkIsolation',
        `a Hugging Face hub model (${model.modelId}) is downloaded by the container when it starts, which network isolation forbids; copy the weights into the model store and use LmiModel.fromModelStore(prefix) to keep isolation, or set networkIsolation: false`,
      );
    }
    return {
      ...common,
      environment: { HF_MODEL_ID: model.modelId, ...(model.revision === undefined ? {} : { OPTION_REVISION: model.revision }), ...settings },
      modelDataSource: undefined,
      modelPrefix: undefined,
      networkIsolation: false,
      modelDataDownloadTimeoutInSeconds: undefined,
    };
  }
  throw new PropValidationError(`${PREFIX}.model`, 'must be LmiModel.fromModelStore(prefix) or LmiModel.fromHuggingFaceHub(modelId)');
}

/** The error for an endpoint setting LMI cannot use. */
export function lmiUnsupported(prop: string, reason: string): PropValidationError {
  return new PropValidationError(`InferenceEndpoint.${prop}`, `cannot be used with InferenceEngine.lmi(): ${reason}`);
}

function requireGpuInstance(instanceType: string | undefined): GpuInstance {
  if (instanceType === undefined) {
    throw lmiUnsupported('serverless', 'LMI runs vLLM on NVIDIA GPUs, and SageMaker Serverless Inference has no GPUs (and at most 6 GB of memory); remove `serverless` and choose a GPU instance type');
  }
  const instance = gpuInstance(instanceType);
  if (instance !== undefined) return instance;
  const known = [...new Set(GPU_INSTANCES.map((entry) => entry.instanceType.replace(/\.[^.]+$/, '.*')))].join(', ');
  const why = /^ml\.(inf|trn)\d/.test(instanceType)
    ? `${instanceType} has AWS Neuron accelerators, which the LMI NeuronX image serves, not the vLLM GPU image`
    : /^ml\.(g|p)\d/.test(instanceType)
      ? `${instanceType} is not in the GPU table (lib/endpoint/gpu-instances.ts)`
      : `${instanceType} has no GPUs, and LMI runs vLLM on NVIDIA GPUs`;
  throw new PropValidationError('InferenceEndpoint.instanceType', `${why}; use one of ${known}, e.g. ml.g5.12xlarge (4 x 24 GiB A10G)`);
}

/** Refuses an instance whose tensor-parallel group cannot hold the weights plus the overhead, naming types that can. */
function requireMemory(parameterCount: number, dtype: LmiDtype, instance: GpuInstance, tensorParallelDegree: number): void {
  if (Token.isUnresolved(parameterCount)) return;
  const overhead = LMI_DEFAULTS.memoryOverheadFraction;
  const weightsGiB = (parameterCount * BYTES_PER_PARAMETER[dtype]) / BYTES_PER_GIB;
  const neededGiB = weightsGiB * (1 + overhead);
  const availableGiB = tensorParallelDegree * instance.gpuMemoryGiB;
  if (neededGiB <= availableGiB) return;
  // The smallest types that hold it, one per GPU configuration (g6e.12xlarge and .24xlarge have the same GPUs).
  const seen = new Set<string>();
  const fitting = GPU_INSTANCES.filter((entry) => totalGpuMemoryGiB(entry) >= neededGiB && !seen.has(describeGpus(entry)) && seen.add(describeGpus(entry))).slice(0, 3);
  const group = tensorParallelDegree === instance.gpuCount ? '' : ` (tensor-parallel degree ${tensorParallelDegree} gives each model copy ${availableGiB} GiB)`;
  throw new PropValidationError(
    'InferenceEndpoint.instanceType',
    `${formatParameters(parameterCount)} parameters in ${dtype} need about ${neededGiB.toFixed(1)} GiB of GPU memory ` +
      `(${weightsGiB.toFixed(1)} GiB of weights + ${overhead * 100}% for the KV cache and activations); ` +
      `${instance.instanceType} has ${describeGpus(instance)}${group}. ` +
      (fitting.length === 0
        ? 'No single instance in the GPU table holds it: quantize the model or use a smaller one'
        : `Instance types that hold it: ${fitting.map((entry) => `${entry.instanceType} (${describeGpus(entry)})`).join(', ')}`),
  );
}

function timeoutSeconds(prop: string, value: Duration | undefined, fallback: number): number {
  const seconds = value?.toSeconds() ?? fallback;
  requireIntegerInRange(`${PREFIX}.${prop} (seconds)`, seconds, 60, 3600);
  return seconds;
}

/** `7B`, `1.5B`, `350M` */
function formatParameters(count: number): string {
  if (count >= 1e9) return `${Number((count / 1e9).toFixed(1))}B`;
  if (count >= 1e6) return `${Number((count / 1e6).toFixed(1))}M`;
  return String(count);
}

function divisors(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index + 1).filter((candidate) => count % candidate === 0);
}
