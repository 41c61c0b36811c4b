/**
 * A gradient check for every op's rule: the backward graph that autodiff appends, run by ONNX
 * Runtime in float64, against central finite differences of the same graph's loss. Elementwise
 * ops are checked with broadcasting inputs, so the reduction back to each input's shape is
 * checked too.
 */
import { describe, expect, test } from 'vitest';
import { gradients } from '../../../model-runtime/src/graph/autodiff.ts';
import { GraphBuilder } from '../../../model-runtime/src/graph/builder.ts';
import { clipGradientsByGlobalNorm } from '../../../model-runtime/src/graph/clipping.ts';
import { dropout, dropoutKey } from '../../../model-runtime/src/graph/dropout.ts';
import type { ConstantData, Value } from '../../../model-runtime/src/graph/types.ts';
import { binaryCrossEntropyWithLogits, meanSquaredError, softmaxCrossEntropy } from '../../../model-runtime/src/models/losses.ts';
import { gradCheck } from './gradcheck.ts';
import type { GradCheckInput } from './gradcheck.ts';

const TOLERANCE = 1e-6;
const int64Scalar = (v: number): ConstantData => ({ dtype: 'int64', dims: [], values: [v] });
/** Causal (3, 3) and padding (the second sequence's last token is padding) masks together. */
const maskFor = (g: GraphBuilder): Value =>
  g.and(g.causalMask(3), g.paddingMask(g.initializer('attention_mask', { dtype: 'int64', dims: [2, 3], values: [1, 1, 1, 1, 1, 0] })));
const positive = (n: number, lo = 0.5): number[] => Array.from({ length: n }, (_, i) => lo + ((i * 0.37) % 1.5));

interface Case {
  readonly inputs: readonly GradCheckInput[];
  readonly build: (g: GraphBuilder, xs: Value[]) => Value;
}

const cases: Record<string, Case> = {
  // Elementwise binary ops, with (3, 4) against a broadcast (4) and (3, 1).
  'Add (broadcast (3,4) + (4))': { inputs: [{ shape: [3, 4] }, { shape: [4] }], build: (g, [a, b]) => g.add(a!, b!) },
  'Sub (broadcast (3,1) - (3,4))': { inputs: [{ shape: [3, 1] }, { shape: [3, 4] }], build: (g, [a, b]) => g.sub(a!, b!) },
  'Mul (broadcast (2,3,4) * (3,1))': { inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }], build: (g, [a, b]) => g.mul(a!, b!) },
  'Div (broadcast (3,4) / (1,4))': { inputs: [{ shape: [3, 4] }, { shape: [1, 4], values: positive(4) }], build: (g, [a, b]) => g.div(a!, b!) },
  'Pow (broadcast (3,4) ^ (4))': { inputs: [{ shape: [3, 4], values: positive(12) }, { shape: [4] }], build: (g, [a, b]) => g.pow(a!, b!) },
  'Where (broadcast)': {
    inputs: [{ shape: [3, 4] }, { shape: [4] }],
    build: (g, [a, b]) => g.where(g.greater(a!, g.scalar(0, 'float64')), a!, b!),
  },
  // Elementwise unary ops.
  Neg: { inputs: [{ shape: [2, 3] }], build: (g, [x]) => g.neg(x!) },
  Exp: { inputs: [{ shape: [2, 3] }], build: (g, [x]) => g.exp(x!) },
  Log: { inputs: [{ shape: [2, 3], values: positive(6) }], build: (g, [x]) => g.log(x!) },
  Sqrt: { inputs: [{ shape: [2, 3], values: positive(6) }], build: (g, [x]) => g.sqrt(x!) },
  Abs: { inputs: [{ shape: [2, 3] }], build: (g, [x]) => g.abs(x!) },
  Relu: { inputs: [{ shape: [3, 4] }], build: (g, [x]) => g.relu(x!) },
  Sigmoid: { inputs: [{ shape: [3, 4] }], build: (g, [x]) => g.sigmoid(x!) },
  Tanh: { inputs: [{ shape: [3, 4] }], build: (g, [x]) => g.tanh(x!) },
  Softmax: { inputs: [{ shape: [3, 4] }], build: (g, [x]) => g.softmax(x!, 1) },
  'Softmax (axis 0)': { inputs: [{ shape: [3, 4] }], build: (g, [x]) => g.softmax(x!, 0) },
  LogSoftmax: { inputs: [{ shape: [3, 4] }], build: (g, [x]) => g.logSoftmax(x!, -1) },
  // Reductions.
  'ReduceSum (keepdims)': { inputs: [{ shape: [2, 3, 4] }], build: (g, [x]) => g.reduceSum(x!, [1], true) },
  'ReduceSum (drop axes 0, 2)': { inputs: [{ shape: [2, 3, 4] }], build: (g, [x]) => g.reduceSum(x!, [0, 2], false) },
  'ReduceMean (keepdims)': { inputs: [{ shape: [2, 3, 4] }], build: (g, [x]) => g.reduceMean(x!, [2], true) },
  'ReduceMean (all)': { inputs: [{ shape: [3, 4] }], build: (g, [x]) => g.reduceMean(x!, [0, 1], false) },
  // Linear algebra.
  'MatMul (2-D)': { inputs: [{ shape: [3, 4] }, { shape: [4, 2] }], build: (g, [a, b]) => g.matmul(a!, b!) },
  'MatMul (batched, broadcast B)': { inputs: [{ shape: [2, 3, 4] }, { shape: [4, 5] }], build: (g, [a, b]) => g.matmul(a!, b!) },
  ...Object.fromEntries(
    [false, true].flatMap((transA) =>
      [false, true].map((transB) => [
        `Gemm (transA=${transA}, transB=${transB}, bias (4))`,
        {
          inputs: [{ shape: transA ? [5, 3] : [3, 5] }, { shape: transB ? [4, 5] : [5, 4] }, { shape: [4] }],
          build: (g: GraphBuilder, [a, b, c]: Value[]) => g.gemm(a!, b!, c!, { transA, transB }),
        } satisfies Case,
      ]),
    ),
  ),
  'Gemm (bias (3, 1))': { inputs: [{ shape: [3, 5] }, { shape: [5, 4] }, { shape: [3, 1] }], build: (g, [a, b, c]) => g.gemm(a!, b!, c!) },
  // Shape ops.
  Reshape: { inputs: [{ shape: [2, 6] }], build: (g, [x]) => g.mul(g.reshape(x!, [3, -1]), g.reshape(x!, [3, 4])) },
  Transpose: { inputs: [{ shape: [2, 3, 4] }], build: (g, [x]) => g.transpose(x!, [2, 0, 1]) },
  'Unsqueeze / Squeeze': { inputs: [{ shape: [3, 4] }], build: (g, [x]) => g.squeeze(g.unsqueeze(x!, [0]), [0]) },
  Concat: { inputs: [{ shape: [2, 3] }, { shape: [2, 1] }, { shape: [2, 2] }], build: (g, [a, b, c]) => g.concat([a!, b!, c!], 1) },
  Slice: { inputs: [{ shape: [4, 5] }], build: (g, [x]) => g.slice(x!, [1, -4], [3, 4], [0, 1]) },
  // An embedding lookup that picks row 1 twice: its gradient must add up.
  Gather: {
    inputs: [{ shape: [4, 3] }],
    build: (g, [table]) => g.gather(table!, g.initializer('ids', { dtype: 'int64', dims: [2, 2], values: [1, 3, 1, 0] })),
  },
  // Embedding lookup with (B, T) int64 ids, repeats included (ScatterND add, no one-hot).
  'Gather (ids (B, T) = (2, 3))': {
    inputs: [{ shape: [6, 3] }],
    build: (g, [table]) => g.gather(table!, g.initializer('ids', { dtype: 'int64', dims: [2, 3], values: [5, 0, 5, 2, 2, 5] })),
  },
  // Transformer ops.
  Min: { inputs: [{ shape: [3, 4] }, { shape: [4] }], build: (g, [a, b]) => g.min(a!, b!) },
  'GELU (tanh approximation)': {
    inputs: [{ shape: [2, 5], values: [-3, -1.5, -0.7, -0.2, 0, 0.1, 0.5, 1, 2, 3.5] }],
    build: (g, [x]) => g.gelu(x!, 'tanh'),
  },
  'LayerNormalization (fused, last axis of (2, 3, 5))': {
    inputs: [{ shape: [2, 3, 5] }, { shape: [5] }, { shape: [5] }],
    build: (g, [x, scale, bias]) => g.layerNorm(x!, scale!, bias!),
  },
  'LayerNormalization (fused, no bias, epsilon 0.1)': {
    inputs: [{ shape: [4, 6] }, { shape: [6] }],
    build: (g, [x, scale]) => g.layerNorm(x!, scale!, null, { epsilon: 0.1 }),
  },
  'LayerNormalization (composed from primitives)': {
    inputs: [{ shape: [2, 3, 5] }, { shape: [5] }, { shape: [5] }],
    build: (g, [x, scale, bias]) => g.layerNorm(x!, scale!, bias!, { fused: false }),
  },
  'MatMul (batched attention (B, heads, T, d) x (B, heads, d, T))': {
    inputs: [{ shape: [2, 2, 3, 4] }, { shape: [2, 2, 4, 3] }],
    build: (g, [q, k]) => g.matmul(q!, k!),
  },
  'MatMul (broadcast batch dims (2, 1, 3, 4) x (1, 2, 4, 5))': {
    inputs: [{ shape: [2, 1, 3, 4] }, { shape: [1, 2, 4, 5] }],
    build: (g, [a, b]) => g.matmul(a!, b!),
  },
  'MatMul (rank 4 x shared 2-D weight)': { inputs: [{ shape: [2, 2, 3, 4] }, { shape: [4, 5] }], build: (g, [a, b]) => g.matmul(a!, b!) },
  'MatMul (2-D x batched)': { inputs: [{ shape: [3, 4] }, { shape: [2, 4, 5] }], build: (g, [a, b]) => g.matmul(a!, b!) },
  Flatten: { inputs: [{ shape: [2, 3, 4] }], build: (g, [x]) => g.mul(g.flatten(x!, 2), g.flatten(x!, 2)) },
  // Causal and padding masks before a rank-4 softmax over the keys.
  'Masked softmax (causal and padding, (B, heads, T, T))': {
    inputs: [{ shape: [2, 2, 3, 3] }],
    build: (g, [scores]) => g.softmax(g.maskScores(scores!, maskFor(g)), -1),
  },
  'Dropout (rate 0.3, seeded)': {
    inputs: [{ shape: [4, 5] }],
    build: (g, [x]) => dropout(g, x!, 0.3, dropoutKey(g, g.initializer('seed', int64Scalar(1234)), g.initializer('step', int64Scalar(7))), 0),
  },
  // Tied embeddings: one table feeds the lookup and, transposed, the output head.
  'Weight tying (Gather and MatMul with the transpose share one table)': {
    inputs: [{ shape: [5, 3] }],
    build: (g, [table]) => {
      const h = g.tanh(g.gather(table!, g.initializer('ids', { dtype: 'int64', dims: [2, 3], values: [1, 4, 1, 0, 2, 3] })));
      return g.logSoftmax(g.matmul(h, g.transpose(table!, [1, 0])), -1);
    },
  },
  ...Object.fromEntries(
    [0.5, 100].map((maxNorm) => [
      `Gradient clipping (max_norm ${maxNorm}: ${maxNorm < 1 ? 'clips' : 'passes through'})`,
      {
        inputs: [{ shape: [2, 3] }, { shape: [3] }],
        build: (g: GraphBuilder, [a, b]: Value[]) => {
          const { gradients: clipped } = clipGradientsByGlobalNorm(g, [a!, b!], maxNorm);
          return g.concat([g.reshape(clipped[0]!, [6]), clipped[1]!], 0);
        },
      } satisfies Case,
    ]),
  ),
  // The training losses, against fixed targets.
  'Loss: mean squared error': {
    inputs: [{ shape: [3, 2] }],
    build: (g, [pred]) => meanSquaredError(g, pred!, g.initializer('t', { dtype: 'float64', dims: [3, 2], values: [0.5, -1, 2, 0, 1, 1] })),
  },
  'Loss: binary cross-entropy with logits': {
    inputs: [{ shape: [4, 1], values: [-3, -0.2, 0.7, 4] }],
    build: (g, [z]) => binaryCrossEntropyWithLogits(g, z!, g.initializer('t', { dtype: 'float64', dims: [4], values: [0, 1, 0, 1] })),
  },
  'Loss: softmax cross-entropy': {
    inputs: [{ shape: [3, 4] }],
    build: (g, [z]) => softmaxCrossEntropy(g, z!, g.initializer('t', { dtype: 'float64', dims: [3], values: [2, 0, 3] })),
  },
  // A composite: a value used twice (gradients accumulate) through a small network.
  'Composite (2-layer net, softmax cross-entropy)': {
    inputs: [{ shape: [3, 4] }, { shape: [5, 4] }, { shape: [5] }],
    build: (g, [x, w, b]) => {
      const h = g.tanh(g.gemm(x!, w!, b!, { transB: true }));
      return g.logSoftmax(g.add(h, g.mul(h, h)), 1);
    },
  },
};

describe('gradient rules agree with float64 finite differences', () => {
  test.each(Object.entries(cases))('%s', async (_name, c) => {
    const result = await gradCheck(c.inputs, c.build);
    // The check must have compared something non-trivial.
    expect(result.numeric.some((n) => n.some((v) => Math.abs(v) > 1e-3))).toBe(true);
    expect(result.maxError).toBeLessThan(TOLERANCE);
  });
});

// ONNX Runtime's CPU has no float64 Erf: checked in float32 with a step and tolerance to match
// (a central difference at 1e-2 is good to ~1e-5 here; a wrong rule is off by 1e-1 or more).
const float32Cases: Record<string, Case> = {
  Erf: { inputs: [{ shape: [2, 5], values: [-2.5, -1.2, -0.6, -0.1, 0, 0.05, 0.4, 0.9, 1.7, 3] }], build: (g, [x]) => g.erf(x!) },
  'GELU (exact, Erf)': { inputs: [{ shape: [2, 5], values: [-3, -1.5, -0.7, -0.2, 0, 0.1, 0.5, 1, 2, 3.5] }], build: (g, [x]) => g.gelu(x!, 'erf') },
};

describe('gradient rules of float32-only ops agree with float32 finite differences', () => {
  test.each(Object.entries(float32Cases))('%s', async (_name, c) => {
    const result = await gradCheck(c.inputs, c.build, { dtype: 'float32', eps: 1e-2 });
    expect(result.numeric.some((n) => n.some((v) => Math.abs(v) > 1e-3))).toBe(true);
    expect(result.maxError).toBeLessThan(1e-3);
  });
});

describe('autodiff', () => {
  test('an op without a rule is named in the error', () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', 'float64', [2]);
    const y = g.node('Cos', [x], {}, 'float64', [2]);
    const loss = g.reduceSum(y, [0], false);
    expect(() => gradients(g, loss, [x])).toThrow(/no gradient rule for op Cos/);
  });

  test('a loss that is not a scalar is refused', () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', 'float64', [2]);
    expect(() => gradients(g, g.exp(x), [x])).toThrow(/loss must be a scalar, got shape \(2\)/);
  });

  test('batched MatMul with batch dimensions that do not broadcast is refused, naming both shapes', () => {
    const g = new GraphBuilder('t');
    expect(() => g.matmul(g.input('q', 'float32', ['B', 4, 8, 16]), g.input('k', 'float32', ['B', 3, 16, 8]))).toThrow(
      /MatMul: batch dimensions of \(B, 4, 8, 16\) and \(B, 3, 16, 8\) do not broadcast/,
    );
    expect(() => g.matmul(g.input('a', 'float32', [2, 8, 16]), g.input('b', 'float32', [2, 8, 16]))).toThrow(/MatMul: inner dimensions differ \(16 vs 8\)/);
  });

  test('broadcasting incompatible shapes is refused at build time', () => {
    const g = new GraphBuilder('t');
    expect(() => g.add(g.input('a', 'float32', [3, 4]), g.input('b', 'float32', [5]))).toThrow(/cannot broadcast shapes \(3, 4\) and \(5\)/);
  });
});
