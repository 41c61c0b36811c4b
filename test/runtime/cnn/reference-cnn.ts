/**
 * cnn.ts's network with batch normalisation, in float64 by its definition and in the textbook
 * order (Conv -> BatchNorm -> ReLU, then MaxPool at the end of each block), for the tests to
 * compare the runtime's graphs against. Tensors are flat row-major arrays, NCHW.
 */
import type { CnnConfig } from '../../../model-runtime/src/models/cnn.ts';

type Tensors = Readonly<Record<string, ArrayLike<number>>>;

const EPSILON = 1e-5;

/** 'same' convolution of a square odd kernel, no bias: (N, C, H, W) -> (N, O, H, W). */
function conv(x: Float64Array, [n, c, h, w]: readonly number[], weight: ArrayLike<number>, o: number, k: number): Float64Array {
  const out = new Float64Array(n! * o * h! * w!);
  const pad = (k - 1) / 2;
  for (let b = 0; b < n!; b++) for (let oc = 0; oc < o; oc++) for (let i = 0; i < h!; i++) for (let j = 0; j < w!; j++) {
    let sum = 0;
    for (let ci = 0; ci < c!; ci++) for (let a = 0; a < k; a++) for (let e = 0; e < k; e++) {
      const [y, z] = [i - pad + a, j - pad + e];
      if (y >= 0 && y < h! && z >= 0 && z < w!) sum += x[((b * c! + ci) * h! + y) * w! + z]! * weight[((oc * c! + ci) * k + a) * k + e]!;
    }
    out[((b * o + oc) * h! + i) * w! + j] = sum;
  }
  return out;
}

/** Per channel over (N, H, W): the mean and the unbiased variance. */
export function channelStatistics(x: Float64Array, [n, c, h, w]: readonly number[]): { mean: number[]; unbiasedVariance: number[] } {
  const m = n! * h! * w!;
  const mean: number[] = [];
  const unbiasedVariance: number[] = [];
  for (let ch = 0; ch < c!; ch++) {
    let sum = 0;
    for (let b = 0; b < n!; b++) for (let p = 0; p < h! * w!; p++) sum += x[(b * c! + ch) * h! * w! + p]!;
    const mu = sum / m;
    let squares = 0;
    for (let b = 0; b < n!; b++) for (let p = 0; p < h! * w!; p++) squares += (x[(b * c! + ch) * h! * w! + p]! - mu) ** 2;
    mean.push(mu);
    unbiasedVariance.push(squares / (m - 1));
  }
  return { mean, unbiasedVariance };
}

function maxPool(x: Float64Array, [n, c, h, w]: readonly number[]): Float64Array {
  const [ho, wo] = [Math.floor(h! / 2), Math.floor(w! / 2)];
  const out = new Float64Array(n! * c! * ho * wo);
  for (let plane = 0; plane < n! * c!; plane++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    let best = -Infinity;
    for (let a = 0; a < 2; a++) for (let e = 0; e < 2; e++) best = Math.max(best, x[(plane * h! + 2 * i + a) * w! + 2 * j + e]!);
    out[(plane * ho + i) * wo + j] = best;
  }
  return out;
}

/** (N, I) x (O, I)^T + (O). */
function linear(x: Float64Array, n: number, weight: ArrayLike<number>, bias: ArrayLike<number>, o: number): Float64Array {
  const i = x.length / n;
  const out = new Float64Array(n * o);
  for (let b = 0; b < n; b++) for (let r = 0; r < o; r++) {
    let sum = bias[r]!;
    for (let k = 0; k < i; k++) sum += x[b * i + k]! * weight[r * i + k]!;
    out[b * o + r] = sum;
  }
  return out;
}

export interface ReferenceForward {
  /** (N, K) softmax of the logits. */
  readonly probabilities: Float64Array;
  /** 'batch' mode: each conv's batch statistics (of its output, before normalisation), by conv name prefix. */
  readonly batchStatistics: Readonly<Record<string, { mean: number[]; unbiasedVariance: number[] }>>;
}

/**
 * x (N, C, H, W) through the batch-normalised CNN: 'batch' normalises each conv's output by its
 * own statistics (biased variance, as training does), 'running' by `tensors`' running_mean/var.
 */
export function referenceForward(config: CnnConfig, tensors: Tensors, x: ArrayLike<number>, n: number, mode: 'batch' | 'running'): ReferenceForward {
  let shape = [n, ...config.inputShape];
  let h: Float64Array = Float64Array.from(x);
  const batchStatistics: Record<string, { mean: number[]; unbiasedVariance: number[] }> = {};
  config.widths.forEach((width, b) => {
    for (let j = 0; j < config.convsPerBlock; j++) {
      const prefix = `block${b}.conv${j}`;
      const z = conv(h, shape, tensors[`${prefix}.weight`]!, width, config.kernelSize);
      shape = [n, width, shape[2]!, shape[3]!];
      const stats = channelStatistics(z, shape);
      batchStatistics[prefix] = stats;
      const m = n * shape[2]! * shape[3]!;
      const [gamma, beta] = [tensors[`${prefix}.bn.weight`]!, tensors[`${prefix}.bn.bias`]!];
      const plane = shape[2]! * shape[3]!;
      for (let i = 0; i < z.length; i++) {
        const ch = Math.floor(i / plane) % width;
        const [mean, variance] = mode === 'batch' ? [stats.mean[ch]!, (stats.unbiasedVariance[ch]! * (m - 1)) / m] : [tensors[`${prefix}.bn.running_mean`]![ch]!, tensors[`${prefix}.bn.running_var`]![ch]!];
        z[i] = Math.max(0, ((z[i]! - mean) / Math.sqrt(variance + EPSILON)) * gamma[ch]! + beta[ch]!); // BatchNorm, then ReLU
      }
      h = z;
    }
    h = maxPool(h, shape);
    shape = [n, width, Math.floor(shape[2]! / 2), Math.floor(shape[3]! / 2)];
  });
  if (config.denseUnits > 0) h = linear(h, n, tensors['head.hidden.weight']!, tensors['head.hidden.bias']!, config.denseUnits).map((v) => Math.max(0, v));
  const logits = linear(h, n, tensors['head.out.weight']!, tensors['head.out.bias']!, config.classes);
  const k = config.classes;
  const probabilities = new Float64Array(n * k);
  for (let b = 0; b < n; b++) {
    const row = logits.subarray(b * k, (b + 1) * k);
    const top = Math.max(...row);
    const total = row.reduce((s, v) => s + Math.exp(v - top), 0);
    row.forEach((v, i) => (probabilities[b * k + i] = Math.exp(v - top) / total));
  }
  return { probabilities, batchStatistics };
}
