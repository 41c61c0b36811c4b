/** Synthetic data sets and default configs for the model tests, all seeded. */
import { createRandom as mulberry32 } from '../../../model-runtime/src/data/random.ts';
import type { Batch } from '../../../model-runtime/src/data/batch.ts';
import type { ModelConfig } from '../../../model-runtime/src/models/trainable-model.ts';
import type { OptimizerConfig } from '../../../model-runtime/src/optim/optimizer-config.ts';

export function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export interface Dataset {
  readonly rows: number;
  readonly features: number;
  readonly x: Float32Array;
  readonly y: Float32Array;
  /** Values of y per row (1 for labels and single targets). */
  readonly targets: number;
}

/** Rows [start, start + size) as a Batch. */
export function slice(d: Dataset, start: number, size: number): Batch {
  const n = Math.min(size, d.rows - start);
  return { size: n, x: d.x.subarray(start * d.features, (start + n) * d.features), y: d.y.subarray(start * d.targets, (start + n) * d.targets) };
}

export function all(d: Dataset): Batch {
  return slice(d, 0, d.rows);
}

/** Calls `step` on every mini-batch, `epochs` times, in order; returns the last epoch's mean loss. */
export async function fit(d: Dataset, batchSize: number, epochs: number, step: (b: Batch) => Promise<number>): Promise<number> {
  let mean = 0;
  for (let e = 0; e < epochs; e++) {
    let sum = 0;
    let count = 0;
    for (let s = 0; s < d.rows; s += batchSize) {
      sum += await step(slice(d, s, batchSize));
      count++;
    }
    mean = sum / count;
  }
  return mean;
}

/** y = x w + b + noise, x ~ N(0, 1). */
export function linearData(rows: number, w: readonly number[], b: number, noise: number, seed: number): Dataset {
  const random = mulberry32(seed);
  const f = w.length;
  const x = new Float32Array(rows * f);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let t = b;
    for (let j = 0; j < f; j++) {
      const v = normal(random);
      x[r * f + j] = v;
      t += v * w[j]!;
    }
    y[r] = t + noise * normal(random);
  }
  return { rows, features: f, x, y, targets: 1 };
}

/** K Gaussian blobs in 2-D around points on a circle of radius `spread`; label = blob id. */
export function blobs(rows: number, classes: number, spread: number, seed: number): Dataset {
  const random = mulberry32(seed);
  const x = new Float32Array(rows * 2);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const k = r % classes;
    const angle = (2 * Math.PI * k) / classes;
    x[2 * r] = spread * Math.cos(angle) + normal(random);
    x[2 * r + 1] = spread * Math.sin(angle) + normal(random);
    y[r] = k;
  }
  return { rows, features: 2, x, y, targets: 1 };
}

/** XOR of signs: label = (x0 > 0) != (x1 > 0); not linearly separable. */
export function xor(rows: number, seed: number): Dataset {
  const random = mulberry32(seed);
  const x = new Float32Array(rows * 2);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const a = random() * 2 - 1;
    const b = random() * 2 - 1;
    x[2 * r] = a;
    x[2 * r + 1] = b;
    y[r] = a > 0 !== b > 0 ? 1 : 0;
  }
  return { rows, features: 2, x, y, targets: 1 };
}

export function modelConfig(overrides: Partial<ModelConfig>): ModelConfig {
  return { algorithm: 'mlp', task: 'regression', inputSize: 2, outputSize: 1, hiddenSizes: [16], activation: 'relu', dropout: 0, seed: 1, ...overrides };
}

export function optimizerConfig(overrides: Partial<OptimizerConfig> = {}): OptimizerConfig {
  return {
    name: 'adam', learningRate: 0.01, momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, gradClip: 0,
    schedule: { kind: 'constant', warmupSteps: 0, totalSteps: 1000 },
    ...overrides,
  };
}
