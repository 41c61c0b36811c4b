/**
 * A small convolutional network over (B, C, H, W) planes, the body of the image and audio
 * classifiers:
 *
 *   blocks   for each width w: convs_per_block x (Conv k x k 'same' [-> BatchNorm] -> ReLU), then MaxPool 2 x 2
 *            (the last ReLU computed after the pool, which gives the same values on a quarter of them)
 *   head     Flatten -> Linear(dense_units) -> ReLU -> Linear(classes)   (no hidden layer when dense_units = 0)
 *
 * With widths [32, 64], one conv per block, 128 dense units and no batch normalisation this is
 * the classic MNIST CNN (and the one bench/cnn/ runs against PyTorch).
 *
 * Batch normalisation (optional, torch's BatchNorm2d after each Conv, which then has no bias: the
 * shift replaces it) normalises by the batch in training and by the running statistics in
 * evaluation and serving. The running mean and variance are state, not parameters: the training
 * step takes them in and gives the updated ones out (cnnRunningStatistics names them), and the
 * optimizer never sees them.
 */
import { batchNormInference, batchNormTraining, conv2d, maxPool2d } from '../graph/convolution.ts';
import type { GraphBuilder } from '../graph/builder.ts';
import type { Value } from '../graph/types.ts';
import type { ParameterSpec } from './network.ts';

export interface CnnBatchNorm {
  /** Weight of each batch's statistics in the running ones (torch's momentum), in (0, 1]. */
  readonly momentum: number;
}

export interface CnnConfig {
  /** What the body is fed: (C, H, W) of one example. */
  readonly inputShape: readonly [number, number, number];
  /** Output channels of each conv block; the number of entries is the depth. e.g. [32, 64]. */
  readonly widths: readonly number[];
  /** Convolutions (each followed by ReLU) in every block before its pooling. @default 1 */
  readonly convsPerBlock: number;
  /** Side of the square kernels. @default 3 */
  readonly kernelSize: number;
  /** Units of the hidden layer of the head; 0 = the flattened features go straight to the classes. */
  readonly denseUnits: number;
  /** K: classes (logits out). */
  readonly classes: number;
  /** Batch normalisation between each Conv and its ReLU. @default undefined (none) */
  readonly batchNorm?: CnnBatchNorm;
}

/** Pooling halves each side (floor), as torch's MaxPool2d(2). */
const POOL = 2;

/** As torch.nn.BatchNorm2d. */
const BATCH_NORM_EPSILON = 1e-5;

/** The (C, H, W) leaving the last block; refuses a depth the input cannot be pooled down to. */
export function cnnFeatureShape(config: CnnConfig): [number, number, number] {
  let [c, h, w] = config.inputShape;
  for (const width of config.widths) {
    if (h < POOL || w < POOL) {
      throw new Error(`a ${config.inputShape[1]}x${config.inputShape[2]} input cannot pass ${config.widths.length} conv blocks: each pools by ${POOL}, and block ${config.widths.indexOf(width) + 1} would see ${h}x${w}; use fewer conv_widths or a larger input`);
    }
    [c, h, w] = [width, Math.floor(h / POOL), Math.floor(w / POOL)];
  }
  return [c, h, w];
}

/** Every convolution's name prefix and output channels, in forward order. */
function convLayers(config: CnnConfig): { prefix: string; width: number }[] {
  return config.widths.flatMap((width, b) => Array.from({ length: config.convsPerBlock }, (_, j) => ({ prefix: `block${b}.conv${j}`, width })));
}

export function cnnParameters(config: CnnConfig): ParameterSpec[] {
  const k = config.kernelSize;
  const specs: ParameterSpec[] = [];
  let inChannels = config.inputShape[0];
  for (const { prefix, width } of convLayers(config)) {
    specs.push({ name: `${prefix}.weight`, shape: [width, inChannels, k, k], init: 'he-uniform' });
    if (config.batchNorm === undefined) {
      specs.push({ name: `${prefix}.bias`, shape: [width], init: 'zeros' });
    } else {
      specs.push({ name: `${prefix}.bn.weight`, shape: [width], init: 'ones' }); // gamma
      specs.push({ name: `${prefix}.bn.bias`, shape: [width], init: 'zeros' }); // beta
    }
    inChannels = width;
  }
  const [c, h, w] = cnnFeatureShape(config);
  let features = c * h * w;
  if (config.denseUnits > 0) {
    specs.push({ name: 'head.hidden.weight', shape: [config.denseUnits, features], init: 'he-uniform' });
    specs.push({ name: 'head.hidden.bias', shape: [config.denseUnits], init: 'zeros' });
    features = config.denseUnits;
  }
  specs.push({ name: 'head.out.weight', shape: [config.classes, features], init: 'glorot-uniform' });
  specs.push({ name: 'head.out.bias', shape: [config.classes], init: 'zeros' });
  return specs;
}

/**
 * The batch-normalised CNN's running mean (starts at 0) and variance (starts at 1) per conv,
 * named as torch's state_dict names them; none without batch normalisation.
 */
export function cnnRunningStatistics(config: CnnConfig): ParameterSpec[] {
  if (config.batchNorm === undefined) return [];
  return convLayers(config).flatMap(({ prefix, width }) => [
    { name: `${prefix}.bn.running_mean`, shape: [width], init: 'zeros' as const },
    { name: `${prefix}.bn.running_var`, shape: [width], init: 'ones' as const },
  ]);
}

/**
 * How batch normalisation normalises: 'batch' (training: the batch's statistics, and the updated
 * running ones come out) or 'running' (evaluation, serving). `running` holds the values of every
 * cnnRunningStatistics name; both are ignored without batch normalisation.
 */
export interface CnnStatistics {
  readonly mode: 'batch' | 'running';
  readonly running: Readonly<Record<string, Value>>;
}

export interface CnnOutput {
  /** (B, K). */
  readonly logits: Value;
  /** 'batch' mode: the updated value of every running statistic, by name; otherwise empty. */
  readonly updatedStatistics: Readonly<Record<string, Value>>;
}

/** x (B, C, H, W) -> logits (B, K). */
export function cnnForward(g: GraphBuilder, x: Value, params: Readonly<Record<string, Value>>, config: CnnConfig, statistics: CnnStatistics | null = null): CnnOutput {
  const updatedStatistics: Record<string, Value> = {};
  const convolve = (h: Value, prefix: string): Value => {
    const bn = config.batchNorm;
    if (bn === undefined) return conv2d(g, h, params[`${prefix}.weight`]!, params[`${prefix}.bias`]!, { padding: 'same' }); // (B, w_b, H_b, W_b)
    if (statistics === null) throw new Error(`cnnForward: a batch-normalised CNN needs its running statistics (${prefix}.bn.running_mean, ...) and a mode`);
    const z = conv2d(g, h, params[`${prefix}.weight`]!, null, { padding: 'same' }); // (B, w_b, H_b, W_b)
    const [scale, shift] = [params[`${prefix}.bn.weight`]!, params[`${prefix}.bn.bias`]!];
    const [meanName, varianceName] = [`${prefix}.bn.running_mean`, `${prefix}.bn.running_var`];
    const [mean, variance] = [statistics.running[meanName]!, statistics.running[varianceName]!];
    if (statistics.mode === 'running') return batchNormInference(g, z, scale, shift, mean, variance, BATCH_NORM_EPSILON); // (B, w_b, H_b, W_b)
    const normalised = batchNormTraining(g, z, scale, shift, { mean, variance }, { epsilon: BATCH_NORM_EPSILON, momentum: bn.momentum });
    updatedStatistics[meanName] = normalised.runningMean; // (w_b)
    updatedStatistics[varianceName] = normalised.runningVariance; // (w_b)
    return normalised.output; // (B, w_b, H_b, W_b)
  };
  let h = x; // (B, C, H, W)
  config.widths.forEach((_, b) => {
    for (let j = 0; j < config.convsPerBlock; j++) {
      const z = convolve(h, `block${b}.conv${j}`); // (B, w_b, H_b, W_b)
      // ReLU then pool equals pool then ReLU (max commutes with a monotone function), values and
      // gradients alike, so the block's last ReLU runs on the pooled quarter of the activations.
      // Batch normalisation stays before the pool: its statistics are the whole plane's, and a
      // negative scale would turn each window's maximum into its minimum.
      h = j === config.convsPerBlock - 1 ? z : g.relu(z);
    }
    h = g.relu(maxPool2d(g, h, POOL)); // (B, w_b, H_b / 2, W_b / 2)
  });
  const [c, height, width] = cnnFeatureShape(config);
  let z = g.reshape(h, [x.shape[0]!, c * height * width]); // (B, c h w)
  if (config.denseUnits > 0) z = g.relu(g.gemm(z, params['head.hidden.weight']!, params['head.hidden.bias']!, { transB: true })); // (B, D)
  return { logits: g.gemm(z, params['head.out.weight']!, params['head.out.bias']!, { transB: true }), updatedStatistics }; // (B, K)
}
