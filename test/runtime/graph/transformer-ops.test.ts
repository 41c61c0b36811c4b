/**
 * What the transformer ops promise beyond their gradient checks: the fused float32
 * LayerNormalization and its rule agree with the composed formula, masked positions get neither
 * probability nor gradient, dropout masks are a pure function of (seed, step, site), embedding
 * and tied-head gradients never build dense (B, T, V) or (B, C, V) tensors, tied weights sum
 * both contributions, and clipping scales to max_norm as PyTorch's clip_grad_norm_ does.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { createRandom } from '../../../model-runtime/src/data/random.ts';
import { sessionOptions } from '../../../model-runtime/src/engine/session.ts';
import { gradients } from '../../../model-runtime/src/graph/autodiff.ts';
import { GraphBuilder } from '../../../model-runtime/src/graph/builder.ts';
import { clipGradientsByGlobalNorm } from '../../../model-runtime/src/graph/clipping.ts';
import { dropout, dropoutKey } from '../../../model-runtime/src/graph/dropout.ts';
import { toModelBytes } from '../../../model-runtime/src/graph/proto.ts';
import { staticSize } from '../../../model-runtime/src/graph/shape.ts';
import type { DType, Value } from '../../../model-runtime/src/graph/types.ts';

type Feed = { dtype: DType; dims: number[]; values: ArrayLike<number> };

function tensor(feed: Feed): ort.Tensor {
  switch (feed.dtype) {
    case 'float32': return new ort.Tensor('float32', Float32Array.from(feed.values), feed.dims);
    case 'float64': return new ort.Tensor('float64', Float64Array.from(feed.values), feed.dims);
    case 'int64': return new ort.Tensor('int64', BigInt64Array.from(Array.from(feed.values, (v) => BigInt(v))), feed.dims);
    case 'bool': return new ort.Tensor('bool', Uint8Array.from(feed.values), feed.dims);
  }
}

/** Runs the builder's graph once; every output comes back as plain numbers. */
async function run(g: GraphBuilder, feeds: Record<string, Feed> = {}): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(toModelBytes(g), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  try {
    const result = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, tensor(f)])));
    return Object.fromEntries(Object.entries(result).map(([k, t]) => [k, Array.from(t.data as ArrayLike<number | bigint>, Number)]));
  } finally {
    await session.release();
  }
}

function uniform(n: number, seed: number): number[] {
  const random = createRandom(seed);
  return Array.from({ length: n }, () => random() * 2 - 1);
}

const maxAbsDiff = (a: readonly number[], b: readonly number[]): number => {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
};

/** sum(y * R): a scalar whose gradient reaches every element of y. */
function weightedSum(g: GraphBuilder, y: Value, seed: number): Value {
  const dims = y.shape as number[];
  const r = g.initializer(g.fresh('R'), { dtype: y.dtype, dims, values: uniform(staticSize(dims)!, seed) });
  return g.reduceSum(g.mul(y, r), dims.map((_, i) => i), false);
}

describe('LayerNormalization', () => {
  // float32 is the path whose gradient reuses the fused op's Mean and InvStdDev outputs.
  test.each([
    ['float32', 1e-5, 1e-4],
    ['float64', 1e-12, 1e-10],
  ] as const)('the fused op in %s and its gradient agree with the composed formula', async (dtype, forwardTolerance, gradientTolerance) => {
    const g = new GraphBuilder('ln');
    const [x, scale, bias] = [g.input('x', dtype, [4, 3, 16]), g.input('scale', dtype, [16]), g.input('bias', dtype, [16])];
    for (const fused of [true, false]) {
      const y = g.layerNorm(x, scale, bias, { fused });
      g.output(y, `y_${fused}`);
      gradients(g, weightedSum(g, y, 5), [x, scale, bias]).forEach((d, i) => g.output(d, `d${i}_${fused}`));
    }
    expect(g.nodes.filter((n) => n.op === 'LayerNormalization')).toHaveLength(1);
    const out = await run(g, {
      x: { dtype, dims: [4, 3, 16], values: uniform(192, 1).map((v) => 3 * v + 1) },
      scale: { dtype, dims: [16], values: uniform(16, 2) },
      bias: { dtype, dims: [16], values: uniform(16, 3) },
    });
    expect(maxAbsDiff(out.y_true!, out.y_false!)).toBeLessThan(forwardTolerance);
    for (const i of [0, 1, 2]) expect(maxAbsDiff(out[`d${i}_true`]!, out[`d${i}_false`]!)).toBeLessThan(gradientTolerance);
    // Not trivially zero.
    expect(Math.max(...out.d0_true!.map(Math.abs))).toBeGreaterThan(1e-2);
  });

  test('a scale that does not match the last axis is refused by name', () => {
    const g = new GraphBuilder('ln');
    expect(() => g.layerNorm(g.input('x', 'float32', ['B', 8]), g.input('w', 'float32', [4]), null)).toThrow(
      /scale w must have shape \(8\) to match the last axis of \(B, 8\), got \(4\)/,
    );
  });
});

describe('GELU', () => {
  test('both forms match their definitions (PyTorch: gelu(1) = 0.841192 tanh, 0.841345 exact)', async () => {
    const g = new GraphBuilder('gelu');
    const x = g.input('x', 'float32', [4]);
    g.output(g.gelu(x, 'tanh'), 'tanh');
    g.output(g.gelu(x, 'erf'), 'erf');
    const out = await run(g, { x: { dtype: 'float32', dims: [4], values: [-2, 0, 1, 3] } });
    expect(maxAbsDiff(out.tanh!, [-0.04540230591222, 0, 0.84119199, 2.99636281])).toBeLessThan(1e-6);
    expect(maxAbsDiff(out.erf!, [-0.04550026389636, 0, 0.84134474606, 2.99595031])).toBeLessThan(1e-6);
  });

  test('the tanh form runs as one FastGelu kernel in a session of the runtime (ONNX Runtime fuses its pattern), with the same values', async () => {
    // The speed of the transformer inference graphs leans on this fusion (bench/RESULTS.md):
    // rewriting the formula (x * x * x for Pow, say) would silently unfuse it.
    const g = new GraphBuilder('gelu_fusion');
    const x = g.input('x', 'float32', [2, 8]);
    g.output(g.add(g.gelu(x, 'tanh'), x), 'y'); // a graph output may not be a fused node's own
    const values = uniform(16, 5).map((v) => v * 4);
    const dir = mkdtempSync(join(tmpdir(), 'gelu-fusion-'));
    const session = await ort.InferenceSession.create(toModelBytes(g), { ...sessionOptions(['cpu'], 1, false), enableProfiling: true, profileFilePrefix: join(dir, 'profile') });
    try {
      const y = Array.from((await session.run({ x: tensor({ dtype: 'float32', dims: [2, 8], values }) })).y!.data as Float32Array);
      session.endProfiling();
      const file = readdirSync(dir).find((f) => f.endsWith('.json'))!;
      const kernels = (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { cat: string; args?: { op_name?: string } }[])
        .filter((e) => e.cat === 'Node' && e.args?.op_name !== undefined).map((e) => e.args!.op_name!);
      expect(new Set(kernels)).toEqual(new Set(['FastGelu', 'Add']));
      const gelu = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
      expect(maxAbsDiff(y, values.map((v) => gelu(v) + v))).toBeLessThan(1e-5);
    } finally {
      await session.release();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('Erf in float64 is refused at build time', () => {
    const g = new GraphBuilder('erf');
    expect(() => g.erf(g.input('x', 'float64', [2]))).toThrow(/Erf for float32 only/);
  });
});

describe('attention masks', () => {
  test('masked keys get zero probability and exactly zero gradient', async () => {
    const g = new GraphBuilder('mask');
    const scores = g.input('scores', 'float32', [2, 2, 4, 4]);
    const attentionMask = g.input('attention_mask', 'int64', [2, 4]);
    const probs = g.softmax(g.maskScores(scores, g.and(g.causalMask(4), g.paddingMask(attentionMask))), -1);
    g.output(probs, 'probs');
    g.output(gradients(g, weightedSum(g, probs, 3), [scores])[0]!, 'grad');
    const padding = [1, 1, 1, 1, 1, 1, 0, 0];
    const out = await run(g, {
      scores: { dtype: 'float32', dims: [2, 2, 4, 4], values: uniform(64, 4).map((v) => 5 * v) },
      attention_mask: { dtype: 'int64', dims: [2, 4], values: padding },
    });
    for (let k = 0; k < 64; k++) {
      const [b, query, key] = [Math.floor(k / 32), Math.floor(k / 4) % 4, k % 4];
      const visible = key <= query && padding[b * 4 + key] === 1;
      // A row with one visible key has probability 1 there whatever the score: gradient 0 too.
      if (visible) {
        if (query > 0) expect(Math.abs(out.grad![k]!)).toBeGreaterThan(0);
      } else {
        expect(out.probs![k]).toBe(0);
        expect(out.grad![k]).toBe(0);
      }
    }
    // Each row still sums to one over the visible keys.
    for (let row = 0; row < 16; row++) expect(out.probs!.slice(row * 4, row * 4 + 4).reduce((s, p) => s + p, 0)).toBeCloseTo(1, 6);
  });

  test('a query whose every key is masked (left padding) gets a uniform row, not NaN, and no gradient', async () => {
    const g = new GraphBuilder('mask');
    const scores = g.input('scores', 'float64', [1, 1, 3, 3]);
    const attentionMask = g.initializer('attention_mask', { dtype: 'int64', dims: [1, 3], values: [0, 1, 1] });
    const probs = g.softmax(g.maskScores(scores, g.and(g.causalMask(3), g.paddingMask(attentionMask))), -1);
    g.output(probs, 'probs');
    g.output(gradients(g, weightedSum(g, probs, 3), [scores])[0]!, 'grad');
    const out = await run(g, { scores: { dtype: 'float64', dims: [1, 1, 3, 3], values: [0.5, -2, 3, 1, 2, 0, -1, 0.3, 4] } });
    expect(out.probs!.slice(0, 3)).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(out.grad!.slice(0, 3)).toEqual([0, 0, 0]);
    expect(out.probs!.slice(3)).toEqual([0, 1, 0, 0, expect.closeTo(1 / (1 + Math.exp(4 - 0.3)), 12), expect.closeTo(1 / (1 + Math.exp(0.3 - 4)), 12)]);
  });

  test('a mask that would enlarge the scores is refused', () => {
    const g = new GraphBuilder('mask');
    expect(() => g.maskScores(g.input('s', 'float32', [2, 3, 3]), g.causalMask(4))).toThrow(
      /maskScores: mask \(4, 4\) must broadcast to the scores' shape \(2, 3, 3\) without enlarging it/,
    );
    const padding = g.paddingMask(g.input('attention_mask', 'int64', [2, 3]));
    expect(() => g.maskScores(g.input('one_sequence', 'float32', [1, 3, 3]), padding)).toThrow(/mask \(2, 1, 1, 3\) must broadcast to the scores' shape \(1, 3, 3\)/);
    expect(() => g.paddingMask(g.input('m', 'float32', [2, 3]))).toThrow(/attention_mask must be int64 \(B, T\), got float32/);
  });
});

describe('dropout', () => {
  /** The dropout output of ones (so 0 = dropped, 1/(1 - rate) = kept) for one (seed, step, site). */
  async function masks(rate: number, draws: readonly { seed: number; step: number; site: number }[], shape: number[] = [8, 64, 32]): Promise<number[][]> {
    const g = new GraphBuilder('dropout');
    const x = g.input('x', 'float32', shape);
    draws.forEach((d, i) => {
      const key = dropoutKey(g, g.input(`seed${i}`, 'int64', []), g.input(`step${i}`, 'int64', []));
      g.output(dropout(g, x, rate, key, d.site), `y${i}`);
    });
    const feeds: Record<string, Feed> = { x: { dtype: 'float32', dims: shape, values: new Array<number>(staticSize(shape)!).fill(1) } };
    draws.forEach((d, i) => {
      feeds[`seed${i}`] = { dtype: 'int64', dims: [], values: [d.seed] };
      feeds[`step${i}`] = { dtype: 'int64', dims: [], values: [d.step] };
    });
    const out = await run(g, feeds);
    return draws.map((_, i) => out[`y${i}`]!);
  }
  const agreement = (a: number[], b: number[]): number => a.filter((v, i) => v === b[i]).length / a.length;

  test('the mask for step s is a pure function of (seed, s, site): a fresh graph and session draw it again', async () => {
    const [first] = await masks(0.2, [{ seed: 42, step: 1000, site: 3 }]);
    const [again] = await masks(0.2, [{ seed: 42, step: 1000, site: 3 }]);
    expect(again).toEqual(first);
  });

  test('another step, site or seed draws an unrelated mask, at the asked rate, kept values scaled', async () => {
    const rate = 0.2;
    const [base, nextStep, otherSite, otherSeed] = await masks(rate, [
      { seed: 42, step: 1000, site: 3 },
      { seed: 42, step: 1001, site: 3 },
      { seed: 42, step: 1000, site: 4 },
      { seed: 43, step: 1000, site: 3 },
    ]);
    // Independent masks at rate p agree on p^2 + (1-p)^2 = 0.68 of the elements.
    for (const other of [nextStep!, otherSite!, otherSeed!]) expect(Math.abs(agreement(base!, other) - 0.68)).toBeLessThan(0.01);
    for (const m of [base!, nextStep!, otherSite!, otherSeed!]) {
      const dropped = m.filter((v) => v === 0).length / m.length;
      expect(Math.abs(dropped - rate)).toBeLessThan(0.01);
      expect(new Set(m.filter((v) => v !== 0))).toEqual(new Set([Math.fround(1 / (1 - rate))]));
    }
  });

  test('neighbouring elements are dropped independently', async () => {
    const [m] = await masks(0.5, [{ seed: 7, step: 0, site: 0 }], [16384]);
    const droppedPairs = m!.slice(1).filter((v, i) => v === 0 && m![i] === 0).length / (m!.length - 1);
    expect(Math.abs(droppedPairs - 0.25)).toBeLessThan(0.015);
  });

  test('rate 0 is the identity; bad rates and a missing key are refused', () => {
    const g = new GraphBuilder('dropout');
    const x = g.input('x', 'float32', [2]);
    expect(dropout(g, x, 0, null, 0)).toBe(x);
    expect(() => dropout(g, x, 1, null, 0)).toThrow(/rate must be in \[0, 1\), got 1/);
    expect(() => dropout(g, x, 0.1, null, 0)).toThrow(/needs the key from dropoutKey/);
    expect(() => dropoutKey(g, g.input('seed', 'float32', []), g.input('step', 'int64', []))).toThrow(/seed must be an int64 scalar/);
  });
});

describe('embedding at vocabulary scale and tied weights', () => {
  const [vocab, width, batch, time] = [50257, 32, 4, 8];

  test('the lookup gradient scatter-adds rows: no one-hot, no (B, T, V) or (B, C, V) tensor, even through the tied head', async () => {
    const g = new GraphBuilder('embedding');
    const table = g.input('table', 'float32', [vocab, width]);
    const ids = g.input('ids', 'int64', [batch, time]);
    const logits = g.matmul(g.gather(table, ids), g.transpose(table, [1, 0]));
    const loss = g.reduceSum(g.mul(g.reduceSum(logits, [2], false), g.scalar(0, 'float32')), [0, 1], false);
    const forwardNodes = g.nodes.length;
    const embeddingOnly = g.reduceSum(g.gather(table, ids), [0, 1, 2], false);
    gradients(g, g.add(loss, embeddingOnly), [table]).forEach((d) => g.output(d, 'grad'));
    const backward = g.nodes.slice(forwardNodes);
    expect(backward.some((n) => n.op === 'OneHot')).toBe(false);
    expect(backward.some((n) => n.op === 'ScatterND')).toBe(true);
    const largest = Math.max(...backward.flatMap((n) => n.outputs.map((v) => staticSize(v.shape) ?? 0)));
    // The largest is the logits' own gradient (B, T, V) or the table's (V, C).
    expect(largest).toBe(Math.max(batch * time * vocab, vocab * width));
    const idValues = Array.from({ length: batch * time }, (_, i) => (i * 7919) % 50 === 3 ? 3 : (i * 7919) % vocab);
    const out = await run(g, {
      table: { dtype: 'float32', dims: [vocab, width], values: new Float32Array(vocab * width).fill(0.01) },
      ids: { dtype: 'int64', dims: [batch, time], values: idValues },
    });
    // d(sum of looked-up rows)/d(table row r) = (times r was looked up) in every column.
    const counts = new Map<number, number>();
    for (const id of idValues) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const [id, count] of counts) expect(out.grad!.slice(id * width, (id + 1) * width)).toEqual(new Array<number>(width).fill(count));
    expect(out.grad!.reduce((s, v) => s + v, 0)).toBe(batch * time * width);
  });

  test("a tied table's gradient is the sum of the lookup's and the head's", async () => {
    const g = new GraphBuilder('tied');
    const ids = g.initializer('ids', { dtype: 'int64', dims: [2, 3], values: [1, 4, 1, 0, 2, 3] });
    const lm = (lookup: Value, head: Value): Value => {
      const logits = g.matmul(g.tanh(g.gather(lookup, ids)), g.transpose(head, [1, 0]));
      return weightedSum(g, g.logSoftmax(logits, -1), 11);
    };
    const tied = g.input('tied', 'float64', [5, 3]);
    const [lookup, head] = [g.input('lookup', 'float64', [5, 3]), g.input('head', 'float64', [5, 3])];
    g.output(gradients(g, lm(tied, tied), [tied])[0]!, 'tied_grad');
    const [dLookup, dHead] = gradients(g, lm(lookup, head), [lookup, head]);
    g.output(dLookup!, 'lookup_grad');
    g.output(dHead!, 'head_grad');
    const table: Feed = { dtype: 'float64', dims: [5, 3], values: uniform(15, 8) };
    const out = await run(g, { tied: table, lookup: table, head: table });
    const sum = out.lookup_grad!.map((v, i) => v + out.head_grad![i]!);
    expect(maxAbsDiff(out.tied_grad!, sum)).toBeLessThan(1e-12);
    // Both contributions are really there.
    expect(Math.min(maxAbsDiff(out.tied_grad!, out.lookup_grad!), maxAbsDiff(out.tied_grad!, out.head_grad!))).toBeGreaterThan(1e-3);
  });
});

describe('gradient-norm clipping', () => {
  async function clip(values: number[][], maxNorm: number): Promise<{ clipped: number[][]; norm: number }> {
    const g = new GraphBuilder('clip');
    const grads = values.map((v, i) => g.input(`g${i}`, 'float64', [v.length]));
    const { gradients: clipped, norm } = clipGradientsByGlobalNorm(g, grads, maxNorm);
    clipped.forEach((c, i) => g.output(c, `c${i}`));
    g.output(norm, 'norm');
    const out = await run(g, Object.fromEntries(values.map((v, i) => [`g${i}`, { dtype: 'float64', dims: [v.length], values: v }])));
    return { clipped: values.map((_, i) => out[`c${i}`]!), norm: out.norm![0]! };
  }

  test('above max_norm every gradient is scaled by max_norm / (norm + 1e-6), as torch.nn.utils.clip_grad_norm_', async () => {
    const { clipped, norm } = await clip([[3, 0], [0, 4]], 1);
    expect(norm).toBe(5);
    const factor = 1 / (5 + 1e-6);
    expect(maxAbsDiff(clipped.flat(), [3 * factor, 0, 0, 4 * factor])).toBeLessThan(1e-15);
  });

  test('below max_norm the gradients pass unchanged', async () => {
    const { clipped, norm } = await clip([[0.3], [0.4, 0]], 1);
    expect(norm).toBeCloseTo(0.5, 15);
    expect(clipped).toEqual([[0.3], [0.4, 0]]);
  });

  test('bad max_norm and an empty list are refused', () => {
    const g = new GraphBuilder('clip');
    expect(() => clipGradientsByGlobalNorm(g, [], 1)).toThrow(/at least one gradient/);
    expect(() => clipGradientsByGlobalNorm(g, [g.input('g', 'float32', [2])], 0)).toThrow(/max_norm must be > 0, got 0/);
  });
});
