/**
 * The CNN layers (graph/convolution.ts): Conv against a direct loop over the definition
 * (stride, padding, dilation, groups), every layer's gradient rule against finite differences
 * through ONNX Runtime (float32 where ONNX Runtime's CPU has no float64 kernel: these ops are
 * linear or piecewise linear, so a large step is exact up to rounding), batch normalization's
 * running statistics as torch keeps them, and the build-time errors.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { createRandom } from '../../../model-runtime/src/data/random.ts';
import { GraphBuilder } from '../../../model-runtime/src/graph/builder.ts';
import { averagePool2d, batchNormTraining, conv2d, globalAveragePool, maxPool2d, type Conv2dOptions } from '../../../model-runtime/src/graph/convolution.ts';
import { toModelBytes } from '../../../model-runtime/src/graph/proto.ts';
import { gradCheck, type GradCheckInput } from './gradcheck.ts';

function uniform(n: number, seed: number): number[] {
  const random = createRandom(seed);
  return Array.from({ length: n }, () => random() * 2 - 1);
}

/** torch.nn.functional.conv2d by its definition, for symmetric padding. */
function referenceConv(
  x: number[], [n, c, h, w]: number[], weight: number[], [o, cg, kh, kw]: number[], bias: number[],
  { stride = 1, padding = 0, dilation = 1, groups = 1 }: { stride?: number; padding?: number; dilation?: number; groups?: number },
): { values: number[]; shape: number[] } {
  const ho = Math.floor((h! + 2 * padding - dilation * (kh! - 1) - 1) / stride) + 1;
  const wo = Math.floor((w! + 2 * padding - dilation * (kw! - 1) - 1) / stride) + 1;
  const og = o! / groups;
  const values: number[] = [];
  for (let b = 0; b < n!; b++) for (let oc = 0; oc < o!; oc++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    let sum = bias[oc]!;
    const group = Math.floor(oc / og);
    for (let ci = 0; ci < cg!; ci++) for (let a = 0; a < kh!; a++) for (let e = 0; e < kw!; e++) {
      const y = i * stride - padding + a * dilation;
      const z = j * stride - padding + e * dilation;
      if (y < 0 || y >= h! || z < 0 || z >= w!) continue;
      const channel = group * cg! + ci;
      sum += x[((b * c! + channel) * h! + y) * w! + z]! * weight[((oc * cg! + ci) * kh! + a) * kw! + e]!;
    }
    values.push(sum);
  }
  return { values, shape: [n!, o!, ho, wo] };
}

const convCases: Record<string, { x: number[]; w: number[]; options: Conv2dOptions & { stride?: number; padding?: number; dilation?: number } }> = {
  'stride 1, padding 1': { x: [2, 3, 6, 6], w: [4, 3, 3, 3], options: { padding: 1 } },
  'stride 2 over an odd size (the input gradient needs output padding)': { x: [1, 2, 7, 7], w: [3, 2, 3, 3], options: { stride: 2, padding: 1 } },
  'dilation 2': { x: [1, 2, 8, 8], w: [2, 2, 3, 3], options: { dilation: 2, padding: 2 } },
  'groups 2, stride 2, even kernel': { x: [2, 4, 6, 6], w: [6, 2, 2, 2], options: { groups: 2, stride: 2 } },
  'stride 1, no padding, rectangular kernel': { x: [2, 2, 5, 7], w: [3, 2, 2, 3], options: {} },
  // 16 input channels: the weight gradient takes its one-GEMM-per-tap path.
  'stride 1, padding 1, 16 input channels': { x: [2, 16, 4, 4], w: [3, 16, 3, 3], options: { padding: 1 } },
  'stride 1, dilation 2, 16 input channels': { x: [1, 16, 6, 6], w: [2, 16, 3, 3], options: { dilation: 2, padding: 2 } },
};

describe('conv2d', () => {
  test.each(Object.entries(convCases))('matches the definition: %s', async (_name, c) => {
    const x = uniform(c.x.reduce((a, b) => a * b), 1);
    const w = uniform(c.w.reduce((a, b) => a * b), 2);
    const b = uniform(c.w[0]!, 3);
    const g = new GraphBuilder('conv');
    const y = conv2d(g, g.input('x', 'float32', c.x), g.input('w', 'float32', c.w), g.input('b', 'float32', [c.w[0]!]), c.options);
    g.output(y, 'y');
    const session = await ort.InferenceSession.create(toModelBytes(g));
    const result = await session.run({
      x: new ort.Tensor('float32', Float32Array.from(x), c.x),
      w: new ort.Tensor('float32', Float32Array.from(w), c.w),
      b: new ort.Tensor('float32', Float32Array.from(b), [c.w[0]!]),
    });
    await session.release();
    const expected = referenceConv(x, c.x, w, c.w, b, c.options as { stride?: number; padding?: number; dilation?: number; groups?: number });
    expect(y.shape).toEqual(expected.shape);
    expect(result.y!.dims).toEqual(expected.shape);
    const got = Array.from(result.y!.data as Float32Array);
    expect(Math.max(...got.map((v, i) => Math.abs(v - expected.values[i]!)))).toBeLessThan(1e-5);
  });

  test.each(Object.entries(convCases))('gradients of input, weight and bias: %s', async (_name, c) => {
    const inputs: GradCheckInput[] = [{ shape: c.x }, { shape: c.w }, { shape: [c.w[0]!] }];
    const result = await gradCheck(inputs, (g, [x, w, b]) => conv2d(g, x!, w!, b!, c.options), { dtype: 'float32', eps: 1e-2 });
    expect(result.maxError).toBeLessThan(2e-3);
  });

  test("padding 'same' with an even kernel (more padding at the end): gradients", async () => {
    const inputs: GradCheckInput[] = [{ shape: [2, 2, 6, 6] }, { shape: [3, 2, 4, 4] }, { shape: [3] }];
    const result = await gradCheck(inputs, (g, [x, w, b]) => conv2d(g, x!, w!, b!, { padding: 'same' }), { dtype: 'float32', eps: 1e-2 });
    expect(result.maxError).toBeLessThan(2e-3);
  });

  test("padding 'same' keeps the size, as torch's does for an even kernel", () => {
    const g = new GraphBuilder('same');
    expect(conv2d(g, g.input('x', 'float32', ['N', 3, 9, 9]), g.input('w', 'float32', [8, 3, 4, 4]), null, { padding: 'same' }).shape).toEqual(['N', 8, 9, 9]);
  });

  test('bad shapes and options are refused at build time, naming what would be right', () => {
    const g = new GraphBuilder('bad');
    const x = g.input('x', 'float32', ['N', 3, 8, 8]);
    expect(() => conv2d(g, g.input('x64', 'float64', [1, 3, 8, 8]), g.input('w64', 'float64', [4, 3, 3, 3]), null)).toThrow(/Conv for float32 only/);
    expect(() => conv2d(g, x, g.input('w1', 'float32', [4, 2, 3, 3]), null)).toThrow(/3 channels, so with groups 1 the weight's second axis must be 3/);
    expect(() => conv2d(g, x, g.input('w2', 'float32', [4, 3, 9, 9]), null)).toThrow(/kernel of 9 \(dilation 1\) does not fit an input of 8/);
    expect(() => conv2d(g, x, g.input('w3', 'float32', [4, 3, 3, 3]), null, { stride: 0 })).toThrow(/stride must be whole numbers >= 1/);
    expect(() => conv2d(g, g.input('flat', 'float32', ['N', 192]), g.input('w4', 'float32', [4, 3, 3, 3]), null)).toThrow(/must be \(N, C, H, W\)/);
    expect(() => maxPool2d(g, x, 2, { padding: 2 })).toThrow(/padding \(2, 2\) must be at most half the kernel/);
  });
});

describe('pooling', () => {
  test('max pooling routes each window gradient to its maximum, across batch and channels', async () => {
    // float64: ONNX Runtime's MaxPool has a double kernel. Distinct values, so no ties.
    const values = uniform(2 * 3 * 6 * 6, 4);
    const result = await gradCheck([{ shape: [2, 3, 6, 6], values }], (g, [x]) => maxPool2d(g, x!, 2));
    expect(result.maxError).toBeLessThan(1e-6);
    // An odd size: the last row and column belong to no window and get no gradient.
    const odd = await gradCheck([{ shape: [2, 2, 7, 5], values: uniform(140, 6) }], (g, [x]) => maxPool2d(g, x!, 2));
    expect(odd.maxError).toBeLessThan(1e-6);
    const overlapping = await gradCheck([{ shape: [1, 2, 7, 7], values: uniform(98, 5) }], (g, [x]) => maxPool2d(g, x!, 3, { stride: 2, padding: 1 }));
    expect(overlapping.maxError).toBeLessThan(1e-6);
  });

  test('max pooling in float32 (the spread by Resize) and a ReLU after the pool', async () => {
    // Values a permutation of multiples of 0.1, so no central difference of 1e-2 changes a window's maximum.
    const spaced = (n: number, seed: number): number[] => {
      const order = uniform(n, seed).map((u, i) => [u, i] as const).sort((a, b) => a[0] - b[0]);
      return order.map(([, i]) => (i - n / 2) * 0.1);
    };
    const tiled = await gradCheck([{ shape: [2, 3, 6, 6], values: spaced(216, 7) }], (g, [x]) => maxPool2d(g, x!, 2), { dtype: 'float32', eps: 1e-2 });
    expect(tiled.maxError).toBeLessThan(1e-3);
    const odd = await gradCheck([{ shape: [2, 2, 7, 5], values: spaced(140, 8) }], (g, [x]) => maxPool2d(g, x!, 2), { dtype: 'float32', eps: 1e-2 });
    expect(odd.maxError).toBeLessThan(1e-3);
    // The CNN's block ends pool -> ReLU (the same function as ReLU -> pool): half the windows' maxima are negative.
    const pooledRelu = await gradCheck([{ shape: [2, 2, 6, 6], values: spaced(144, 9) }], (g, [x]) => g.relu(maxPool2d(g, x!, 2)), { dtype: 'float32', eps: 1e-2 });
    expect(pooledRelu.maxError).toBeLessThan(1e-3);
  });

  test('average pooling (padding not counted) and global average pooling', async () => {
    const padded = await gradCheck([{ shape: [2, 3, 7, 7] }], (g, [x]) => averagePool2d(g, x!, 3, { stride: 2, padding: 1 }), { dtype: 'float32', eps: 1e-2 });
    expect(padded.maxError).toBeLessThan(1e-3);
    const global = await gradCheck([{ shape: [2, 3, 5, 4] }], (g, [x]) => globalAveragePool(g, x!), { dtype: 'float32', eps: 1e-2 });
    expect(global.maxError).toBeLessThan(1e-3);
  });
});

describe('batch normalization in training mode', () => {
  test('gradients of input, scale and shift', async () => {
    const inputs: GradCheckInput[] = [{ shape: [3, 2, 3, 3] }, { shape: [2] }, { shape: [2] }];
    const result = await gradCheck(inputs, (g, [x, scale, bias]) => {
      const running = { mean: g.initializer('rm', { dtype: 'float64', dims: [2], values: [0, 0] }), variance: g.initializer('rv', { dtype: 'float64', dims: [2], values: [1, 1] }) };
      return batchNormTraining(g, x!, scale!, bias!, running).output;
    });
    expect(result.maxError).toBeLessThan(1e-6);
    // (N, C) as after a Linear layer; the statistics are over the batch axis alone.
    const flat = await gradCheck([{ shape: [5, 3] }, { shape: [3] }, { shape: [3] }], (g, [x, scale, bias]) => {
      const running = { mean: g.initializer('rm', { dtype: 'float64', dims: [3], values: [0, 0, 0] }), variance: g.initializer('rv', { dtype: 'float64', dims: [3], values: [1, 1, 1] }) };
      return batchNormTraining(g, x!, scale!, bias!, running).output;
    });
    expect(flat.maxError).toBeLessThan(1e-6);
  });

  test('normalises each channel and keeps the running statistics as torch does (unbiased variance, momentum 0.1)', async () => {
    const x = [1, 2, 3, 4, 10, 20, 30, 40]; // (N 2, C 2, 1, 2): channel 0 holds 1, 2, 10, 20; channel 1 holds 3, 4, 30, 40
    const g = new GraphBuilder('bn');
    const out = batchNormTraining(
      g,
      g.input('x', 'float32', [2, 2, 1, 2]),
      g.initializer('scale', { dtype: 'float32', dims: [2], values: [1, 2] }),
      g.initializer('bias', { dtype: 'float32', dims: [2], values: [0, 1] }),
      { mean: g.initializer('rm', { dtype: 'float32', dims: [2], values: [0, 0] }), variance: g.initializer('rv', { dtype: 'float32', dims: [2], values: [1, 1] }) },
    );
    g.output(out.output, 'y');
    g.output(out.runningMean, 'mean');
    g.output(out.runningVariance, 'variance');
    const session = await ort.InferenceSession.create(toModelBytes(g));
    const result = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [2, 2, 1, 2]) });
    await session.release();
    const channel0 = [1, 2, 10, 20];
    const mean0 = 33 / 4;
    const unbiased0 = channel0.reduce((s, v) => s + (v - mean0) ** 2, 0) / 3;
    expect(result.mean!.data[0]).toBeCloseTo(0.1 * mean0, 5);
    expect(result.variance!.data[0]).toBeCloseTo(0.9 + 0.1 * unbiased0, 4);
    const y = Array.from(result.y!.data as Float32Array);
    const channel0Out = [y[0]!, y[1]!, y[4]!, y[5]!];
    expect(channel0Out.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 5);
    expect(channel0Out.reduce((a, b) => a + b * b, 0) / 4).toBeCloseTo(1, 3);
  });
});
