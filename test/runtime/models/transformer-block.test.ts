/**
 * nanoGPT's Block as one graph: its whole backward pass passes a float64 gradient check (causal
 * with a padding mask, and the encoder form without biases); attention over a KV cache of P
 * positions plus T new ones equals the last T rows of one pass over P + T; the parameters carry
 * nanoGPT's names and GPT-2's initialisation; seeded dropout is reproducible per (seed, step).
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { createRandom } from '../../../model-runtime/src/data/random.ts';
import { GraphBuilder } from '../../../model-runtime/src/graph/builder.ts';
import { dropoutKey } from '../../../model-runtime/src/graph/dropout.ts';
import { toModelBytes } from '../../../model-runtime/src/graph/proto.ts';
import type { DType } from '../../../model-runtime/src/graph/types.ts';
import { initialValues } from '../../../model-runtime/src/models/init.ts';
import type { TransformerBlockConfig } from '../../../model-runtime/src/models/transformer-block.ts';
import { blockParameters, transformerBlock } from '../../../model-runtime/src/models/transformer-block.ts';
import { gradCheck } from '../graph/gradcheck.ts';

const uniform = (n: number, seed: number, scale = 1): number[] => {
  const random = createRandom(seed);
  return Array.from({ length: n }, () => (random() * 2 - 1) * scale);
};
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

async function runGraph(g: GraphBuilder, feeds: Record<string, ort.Tensor>): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(toModelBytes(g), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.data as ArrayLike<number>, Number)]));
  } finally {
    await session.release();
  }
}

const maxAbsDiff = (a: readonly number[], b: readonly number[]): number => {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
};

describe('gradient check in float64 through the whole block', () => {
  test.each([
    ['causal decoder with biases and a padding mask', { nEmbd: 8, nHead: 2, bias: true, dropout: 0 }, true],
    ['non-causal encoder without biases, padding mask', { nEmbd: 6, nHead: 3, bias: false, dropout: 0 }, false],
  ] as const)('%s', async (_, config: TransformerBlockConfig, causal) => {
    const [batch, time] = [2, 3];
    const params = blockParameters('h.0', config);
    // Weights larger than 0.02 so attention is far from uniform and every path carries gradient.
    const inputs = [
      { shape: [batch, time, config.nEmbd], values: uniform(batch * time * config.nEmbd, 1) },
      ...params.map((p, i) => ({ shape: p.shape, values: p.name.endsWith('ln_1.weight') || p.name.endsWith('ln_2.weight') ? uniform(size(p.shape), 50 + i, 0.5).map((v) => 1 + v) : uniform(size(p.shape), 50 + i, 0.6) })),
    ];
    const result = await gradCheck(inputs, (g, [x, ...values]) => {
      const byName = Object.fromEntries(params.map((p, i) => [p.name, values[i]!]));
      // The second sequence's last position is padding.
      const attentionMask = g.initializer('attention_mask', { dtype: 'int64', dims: [batch, time], values: [1, 1, 1, 1, 1, 0] });
      return transformerBlock(g, x!, byName, 'h.0', config, { causal, attentionMask, past: null, dropout: null }).output;
    });
    expect(result.maxError).toBeLessThan(1e-6);
    // Every parameter gets a gradient that is not zero.
    for (const grad of result.analytic) expect(Math.max(...grad.map(Math.abs))).toBeGreaterThan(1e-4);
  }, 60_000);
});

describe('KV cache', () => {
  const config: TransformerBlockConfig = { nEmbd: 16, nHead: 4, bias: true, dropout: 0 };
  const [batch, heads, d] = [2, 4, 4];
  const params = blockParameters('h.1', config);

  /** Parameter feeds at GPT-2's initialisation scaled up, so attention is not uniform. */
  function parameterFeeds(dtype: DType): Record<string, ort.Tensor> {
    const random = createRandom(3);
    return Object.fromEntries(params.map((p) => {
      const v = initialValues(p.init, p.shape, random).map((x) => (typeof p.init === 'object' ? x * 20 : x));
      return [p.name, dtype === 'float64' ? new ort.Tensor('float64', Float64Array.from(v), [...p.shape]) : new ort.Tensor('float32', v, [...p.shape])];
    }));
  }

  test.each(['float64', 'float32'] as const)('P cached positions plus T new ones give the rows and keys of one pass over P + T (%s)', async (dtype) => {
    const [cached, fresh] = [3, 2];
    const total = cached + fresh;
    const g = new GraphBuilder('kv');
    const byName = Object.fromEntries(params.map((p) => [p.name, g.input(p.name, dtype, p.shape)]));
    const mask = g.input('attention_mask', 'int64', ['B', 'S']);
    // One pass over all positions, with a static T (the constant causal mask).
    const xFull = g.input('x_full', dtype, [batch, total, 16]);
    const fullMask = g.input('full_mask', 'int64', [batch, total]);
    const full = transformerBlock(g, xFull, byName, 'h.1', config, { causal: true, attentionMask: fullMask, past: null, dropout: null });
    g.output(full.output, 'full');
    g.output(full.present.key, 'full_key');
    g.output(full.present.value, 'full_value');
    // The same positions in two calls, symbolic lengths as in an exported decoder.
    const xNew = g.input('x_new', dtype, ['B', 'T', 16]);
    const past = { key: g.input('past_key', dtype, ['B', heads, 'P', d]), value: g.input('past_value', dtype, ['B', heads, 'P', d]) };
    const step = transformerBlock(g, xNew, byName, 'h.1', config, { causal: true, attentionMask: mask, past, dropout: null });
    g.output(step.output, 'step');
    g.output(step.present.key, 'step_key');
    g.output(step.present.value, 'step_value');
    const session = await ort.InferenceSession.create(toModelBytes(g), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
    try {
      const xs = uniform(batch * total * 16, 9);
      const rows = (from: number, to: number): number[] => Array.from({ length: batch }, (_, b) => xs.slice((b * total + from) * 16, (b * total + to) * 16)).flat();
      const tensor = (values: number[], dims: number[]): ort.Tensor =>
        dtype === 'float64' ? new ort.Tensor('float64', Float64Array.from(values), dims) : new ort.Tensor('float32', Float32Array.from(values), dims);
      // The first sequence's second position is padding, the second sequence has none. (A query
      // with every key masked, as left padding gives position 0, attends uniformly to whatever
      // keys the call has: its row is meaningless in both forms, so none is compared.)
      const maskValues = [1, 0, 1, 1, 1, 1, 1, 1, 1, 1];
      const attention = (s: number): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(Array.from({ length: batch }, (_, b) => maskValues.slice(b * total, b * total + s)).flat().map(BigInt)), [batch, s]);
      const empty = tensor([], [batch, heads, 0, d]);
      const weights = parameterFeeds(dtype);
      const list = async (feeds: Record<string, ort.Tensor>): Promise<Record<string, number[]>> => {
        const out = await session.run({ ...weights, x_full: tensor(xs, [batch, total, 16]), full_mask: attention(total), ...feeds });
        return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.data as ArrayLike<number>)]));
      };
      const first = await list({ x_new: tensor(rows(0, cached), [batch, cached, 16]), past_key: empty, past_value: empty, attention_mask: attention(cached) });
      const second = await (async () => {
        const out = await session.run({
          ...weights,
          x_full: tensor(xs, [batch, total, 16]),
          full_mask: attention(total),
          x_new: tensor(rows(cached, total), [batch, fresh, 16]),
          past_key: tensor(first.step_key!, [batch, heads, cached, d]),
          past_value: tensor(first.step_value!, [batch, heads, cached, d]),
          attention_mask: attention(total),
        });
        return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.data as ArrayLike<number>)]));
      })();
      const tolerance = dtype === 'float64' ? 1e-12 : 1e-5;
      const fullRows = (values: number[], from: number, to: number): number[] =>
        Array.from({ length: batch }, (_, b) => values.slice((b * total + from) * 16, (b * total + to) * 16)).flat();
      expect(maxAbsDiff(first.step!, fullRows(second.full!, 0, cached))).toBeLessThan(tolerance);
      expect(maxAbsDiff(second.step!, fullRows(second.full!, cached, total))).toBeLessThan(tolerance);
      expect(maxAbsDiff(second.step_key!, second.full_key!)).toBeLessThan(tolerance);
      expect(maxAbsDiff(second.step_value!, second.full_value!)).toBeLessThan(tolerance);
      // The padding and the causal mask both matter: without them the rows would differ.
      const unmasked = await runGraph(
        (() => {
          const h = new GraphBuilder('unmasked');
          const p = Object.fromEntries(params.map((q) => [q.name, h.input(q.name, dtype, q.shape)]));
          h.output(transformerBlock(h, h.input('x_full', dtype, [batch, total, 16]), p, 'h.1', config, { causal: false, attentionMask: null, past: null, dropout: null }).output, 'y');
          return h;
        })(),
        { ...weights, x_full: tensor(xs, [batch, total, 16]) },
      );
      expect(maxAbsDiff(unmasked.y!.slice(0, cached * 16), second.full!.slice(0, cached * 16))).toBeGreaterThan(1e-3);
    } finally {
      await session.release();
    }
  });

  test('a past of the wrong head layout is refused by name', () => {
    const g = new GraphBuilder('kv');
    const byName = Object.fromEntries(params.map((p) => [p.name, g.input(p.name, 'float32', p.shape)]));
    const past = { key: g.input('past_key', 'float32', ['B', 2, 'P', 8]), value: g.input('past_value', 'float32', ['B', heads, 'P', d]) };
    expect(() => transformerBlock(g, g.input('x', 'float32', ['B', 'T', 16]), byName, 'h.1', config, { causal: true, attentionMask: null, past, dropout: null })).toThrow(
      /past key past_key must be float32 \(B, 4, P, 4\), got float32 \(B, 2, P, 8\)/,
    );
  });
});

describe('parameters and configuration', () => {
  test("nanoGPT's names, (in, out) weights, no biases when bias is false, GPT-2's initialisation", () => {
    const withBias = blockParameters('h.2', { nEmbd: 64, nHead: 4, bias: true, dropout: 0, nLayer: 8 });
    expect(withBias.map((p) => `${p.name} ${p.shape.join('x')}`)).toEqual([
      'h.2.ln_1.weight 64', 'h.2.ln_1.bias 64',
      'h.2.attn.c_attn.weight 64x192', 'h.2.attn.c_attn.bias 192',
      'h.2.attn.c_proj.weight 64x64', 'h.2.attn.c_proj.bias 64',
      'h.2.ln_2.weight 64', 'h.2.ln_2.bias 64',
      'h.2.mlp.c_fc.weight 64x256', 'h.2.mlp.c_fc.bias 256',
      'h.2.mlp.c_proj.weight 256x64', 'h.2.mlp.c_proj.bias 64',
    ]);
    expect(blockParameters('h.2', { nEmbd: 64, nHead: 4, bias: false, dropout: 0 }).map((p) => p.name).filter((n) => n.endsWith('.bias'))).toEqual([]);
    const random = createRandom(1);
    const std = (name: string): number => {
      const p = withBias.find((q) => q.name === name)!;
      const v = initialValues(p.init, p.shape, random);
      return Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    };
    expect(std('h.2.attn.c_attn.weight')).toBeCloseTo(0.02, 3);
    expect(std('h.2.mlp.c_proj.weight')).toBeCloseTo(0.02 / Math.sqrt(16), 3);
    expect(std('h.2.ln_1.weight')).toBe(1);
  });

  test('bad sizes are refused with the rule', () => {
    expect(() => blockParameters('h.0', { nEmbd: 10, nHead: 4, bias: true, dropout: 0 })).toThrow(/n_embd \(10\) must divide by n_head \(4\)/);
    expect(() => blockParameters('h.0', { nEmbd: 8, nHead: 2, bias: true, dropout: 1 })).toThrow(/dropout must be in \[0, 1\), got 1/);
    const g = new GraphBuilder('b');
    const config = { nEmbd: 8, nHead: 2, bias: true, dropout: 0 };
    expect(() => transformerBlock(g, g.input('x', 'float32', ['B', 'T', 6]), {}, 'h.0', config, { causal: true, attentionMask: null, past: null, dropout: null })).toThrow(
      /input x must be \(B, T, 8\), got \(B, T, 6\)/,
    );
    expect(() => transformerBlock(g, g.input('y', 'float32', ['B', 'T', 8]), {}, 'h.0', config, { causal: true, attentionMask: null, past: null, dropout: null })).toThrow(
      /parameter h.0.ln_1.weight is missing/,
    );
  });
});

describe('dropout', () => {
  test('seeded: the same (seed, step) gives the same output, another step another one, rate 0 none', async () => {
    const config: TransformerBlockConfig = { nEmbd: 8, nHead: 2, bias: true, dropout: 0.3 };
    const params = blockParameters('h.0', config);
    const g = new GraphBuilder('dropout');
    const byName = Object.fromEntries(params.map((p) => [p.name, g.input(p.name, 'float32', p.shape)]));
    const x = g.input('x', 'float32', [2, 4, 8]);
    const key = dropoutKey(g, g.input('seed', 'int64', []), g.input('step', 'int64', []));
    g.output(transformerBlock(g, x, byName, 'h.0', config, { causal: true, attentionMask: null, past: null, dropout: { key, site: 0 } }).output, 'dropped');
    g.output(transformerBlock(g, x, byName, 'h.0', config, { causal: true, attentionMask: null, past: null, dropout: null }).output, 'plain');
    const random = createRandom(4);
    const feeds = (step: number): Record<string, ort.Tensor> => ({
      ...Object.fromEntries(params.map((p) => [p.name, new ort.Tensor('float32', initialValues(p.init, p.shape, random).map((v) => v * 20), [...p.shape])])),
      x: new ort.Tensor('float32', Float32Array.from(uniform(64, 2)), [2, 4, 8]),
      seed: new ort.Tensor('int64', BigInt64Array.of(7n), []),
      step: new ort.Tensor('int64', BigInt64Array.of(BigInt(step)), []),
    });
    // Weights redrawn per call from one stream: fix them once.
    const fixed = feeds(0);
    const at = async (step: number): Promise<Record<string, number[]>> => runGraph(g, { ...fixed, step: new ort.Tensor('int64', BigInt64Array.of(BigInt(step)), []) });
    const [a, again, other] = [await at(5), await at(5), await at(6)];
    expect(again.dropped).toEqual(a.dropped);
    expect(maxAbsDiff(a.dropped!, other.dropped!)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(a.dropped!, a.plain!)).toBeGreaterThan(1e-3);
  });
});
