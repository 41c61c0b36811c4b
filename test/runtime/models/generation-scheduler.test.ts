/**
 * Continuous batching over a real model.onnx: a padded batch step gives each row the logits it
 * gets alone, and padding contributes nothing (garbage in the padded columns changes no logit);
 * the scheduler's requests, joining at different times with prompts of different lengths, get
 * exactly the tokens generate gives each alone (greedy and seeded draws, window slides, stop
 * sequences, repetition and frequency penalties from each row's own history) in far fewer decoder runs; a reader that stops leaves only its own row; the bounds
 * queue requests and refuse them past the queue, naming the bound. Models with Optimum's
 * use_cache_branch input, and models without position_ids, generate the same tokens.
 * Prompts of different lengths arriving together are prefilled in one padded run, each row's
 * logits and cache its lone pass's, and get the tokens each gets alone; a refusal says how long
 * until the queue moves, from the measured step time and the running rows' tokens left.
 */
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRandom } from '../../../model-runtime/src/data/random.ts';
import { batchRow, loneRow, packRows } from '../../../model-runtime/src/models/batch-cache.ts';
import { CausalDecoder, USE_CACHE_BRANCH } from '../../../model-runtime/src/models/generation-decoder.ts';
import type { DecoderShape } from '../../../model-runtime/src/models/generation-decoder.ts';
import type { GeneratedToken, GenerationResult, GenerationSettings } from '../../../model-runtime/src/models/generation.ts';
import { generate, GenerationRequestError } from '../../../model-runtime/src/models/generation.ts';
import { GenerationScheduler, prefillRun, SchedulerFullError, type SchedulerLimits } from '../../../model-runtime/src/models/generation-scheduler.ts';
import { buildGpt2Export } from '../../../model-runtime/src/models/pretrained-export-layout.ts';
import { batchFullResponse } from '../../../model-runtime/src/serve/generation-batching.ts';
import type { GptConfig } from '../../../model-runtime/src/models/gpt.ts';
import { ATTENTION_MASK, buildGptInferenceGraph, gptForward, gptParameters, INPUT_IDS, LOGITS, pastKeyName, pastValueName, POSITION_IDS, presentKeyName, presentValueName } from '../../../model-runtime/src/models/gpt.ts';
import { GraphBuilder } from '../../../model-runtime/src/graph/builder.ts';
import { toModelBytes } from '../../../model-runtime/src/graph/proto.ts';
import type { TensorValues } from '../../../model-runtime/src/models/graph-trainer.ts';
import { initialValues } from '../../../model-runtime/src/models/init.ts';
import { learnTokenizer } from '../../../model-runtime/src/text/learn-tokenizer.ts';

const engine = { intraOpNumThreads: 1, log: (): void => {} };
const greedy: GenerationSettings = { maxNewTokens: 10, doSample: false, temperature: 1, topK: 0, topP: 1, seed: 0, stop: [], eosTokenIds: [] };
const sampled: GenerationSettings = { ...greedy, doSample: true, temperature: 1.5, topK: 0, topP: 1 };
const roomy: SchedulerLimits = { maxSequences: 32, maxTokens: 10_000, maxQueued: 64 };

const tokenizer = learnTokenizer(['the quick brown fox jumps over the lazy dog 0123456789'], { kind: 'char' });
const config: GptConfig = { vocabSize: tokenizer.vocabSize, contextLength: 24, nLayer: 2, nHead: 2, nEmbd: 16, bias: true, dropout: 0 };
const shape: DecoderShape = { nLayer: config.nLayer, nHead: config.nHead, headDim: config.nEmbd / config.nHead, vocabSize: config.vocabSize, contextLength: config.contextLength };

/** Weights at GPT-2's initialisation, enlarged so that untrained logits are far from uniform (no near ties). */
function randomWeights(seed: number): TensorValues {
  const random = createRandom(seed);
  return Object.fromEntries(gptParameters(config).map((p) => [p.name, { dims: p.shape, data: initialValues(p.init, p.shape, random).map((v) => (typeof p.init === 'object' ? v * 15 : v)) }]));
}

async function drain(tokens: AsyncGenerator<GeneratedToken, GenerationResult, undefined>): Promise<GenerationResult> {
  for (;;) {
    const next = await tokens.next();
    if (next.done === true) return next.value;
  }
}

/** Pulls a generation's tokens a few at a time, keeping its text and, at the end, its result. */
class Reader {
  pieces = '';
  result: GenerationResult | null = null;
  constructor(private readonly tokens: AsyncGenerator<GeneratedToken, GenerationResult, undefined>) {}
  async take(n: number): Promise<this> {
    for (let k = 0; k < n && this.result === null; k++) {
      const next = await this.tokens.next();
      if (next.done === true) this.result = next.value;
      else this.pieces += next.value.text;
    }
    return this;
  }
  rest(): Promise<this> {
    return this.take(Infinity);
  }
}

/**
 * The GPT with Optimum's merged-decoder switch as an input: use_cache_branch (1) bool must say
 * whether the cache has positions, or the logits come out negated (and greedy picks the least likely token).
 */
function gptWithCacheBranch(weights: TensorValues): Uint8Array {
  const g = new GraphBuilder('gpt_decoder_merged');
  const params = Object.fromEntries(gptParameters(config).map((p) => [p.name, g.initializer(p.name, { dtype: 'float32', dims: p.shape, values: weights[p.name]!.data })]));
  const ids = g.input(INPUT_IDS, 'int64', ['batch_size', 'sequence_length']);
  const mask = g.input(ATTENTION_MASK, 'int64', ['batch_size', 'total']);
  const positionIds = g.input(POSITION_IDS, 'int64', ['batch_size', 'sequence_length']);
  const branch = g.input(USE_CACHE_BRANCH, 'bool', [1]);
  const past = Array.from({ length: config.nLayer }, (_, i) => ({
    key: g.input(pastKeyName(i), 'float32', ['batch_size', config.nHead, 'past', shape.headDim]),
    value: g.input(pastValueName(i), 'float32', ['batch_size', config.nHead, 'past', shape.headDim]),
  }));
  const { logits, presents } = gptForward(g, ids, params, config, { attentionMask: mask, positionIds, past, dropoutKey: null });
  const hasPast = g.greater(g.gather(g.shapeOf(past[0]!.key), g.scalar(2, 'int64')), g.scalar(0, 'int64'));
  g.output(g.where(g.equal(branch, hasPast), logits, g.neg(logits)), LOGITS);
  presents.forEach((present, i) => {
    g.output(present.key, presentKeyName(i));
    g.output(present.value, presentValueName(i));
  });
  return toModelBytes(g);
}

const PROMPTS = ['the', 'the quick brown', 'fox', 'lazy dog 42', 'jumps over the lazy', 'q', '0123', 'brown fox jumps'];

let decoder: CausalDecoder;
/** The GPT with use_cache_branch switching the sign of its logits (gptWithCacheBranch). */
let merged: CausalDecoder;
/** A GPT-2 class export in Optimum's merged layout (an If on use_cache_branch), with this test's vocabulary. */
let optimum: CausalDecoder;
beforeAll(async () => {
  decoder = await CausalDecoder.create(buildGptInferenceGraph(config, randomWeights(5)), shape, engine);
  merged = await CausalDecoder.create(gptWithCacheBranch(randomWeights(5)), shape, engine);
  optimum = await CausalDecoder.create(buildGpt2Export(config, { merged: true, seed: 7 }), shape, engine);
});
afterAll(async () => {
  await decoder.release();
  await merged.release();
  await optimum.release();
});

const gap = (a: Float32Array, b: Float32Array): number => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
/** The decoders by name, and the index each has in `decoders()` once they are loaded. */
const DECODER_NAMES = [["this runtime's GPT", 0], ['the GPT with use_cache_branch', 1], ["Optimum's merged GPT-2 export (If on use_cache_branch)", 2]] as const;
const decoders = (): CausalDecoder[] => [decoder, merged, optimum];

describe('a padded prefill', () => {
  test.each(DECODER_NAMES)("%s: gives each row its lone pass's logits and cache, and stepping the packed rows their lone steps", async (_, which) => {
    const model = decoders()[which]!;
    const prompts = [[3, 1, 4], [1, 5, 9, 2, 6, 5, 3], [5], [8, 9, 7, 9, 3]];
    const alone = await Promise.all(prompts.map((p) => model.step(p, model.emptyCache())));
    const together = await model.prefillBatch(prompts);
    expect(together.cache.lengths).toEqual([3, 7, 1, 5]);
    expect(together.cache.keys[0]!.dims).toEqual([4, 2, 7, 8]);
    alone.forEach((step, r) => expect(gap(together.logits[r]!, step.logits)).toBeLessThan(1e-4));
    expect(gap(together.logits[0]!, together.logits[1]!)).toBeGreaterThan(1e-2);
    // Each row's real columns hold its lone cache.
    const packed = packRows(prompts.map((_, r) => batchRow(together.cache, r)), shape);
    const lone = packRows(alone.map((step) => loneRow(step.cache)), shape);
    packed.keys.forEach((keys, i) => expect(gap(keys.data as Float32Array, lone.keys[i]!.data as Float32Array)).toBeLessThan(1e-4));
    packed.values.forEach((values, i) => expect(gap(values.data as Float32Array, lone.values[i]!.data as Float32Array)).toBeLessThan(1e-4));
    const fed = [2, 7, 1, 8];
    const next = await model.stepBatch(fed, packed);
    const nextAlone = await Promise.all(alone.map((step, r) => model.step([fed[r]!], step.cache)));
    nextAlone.forEach((step, r) => expect(gap(next.logits[r]!, step.logits)).toBeLessThan(1e-4));
  });

  test('is refused for a model without position_ids, by name', async () => {
    const older = await CausalDecoder.create(buildGptInferenceGraph(config, randomWeights(5), { positionIds: false }), shape, engine);
    try {
      await expect(older.prefillBatch([[1, 2], [3]])).rejects.toThrow(/a padded batch needs a model with a position_ids input/);
    } finally {
      await older.release();
    }
  });

  test('runs the shortest windows together, within the padded size, and keeps a long one among short ones apart', () => {
    expect(prefillRun([5, 5, 5, 5], 2048)).toEqual([0, 1, 2, 3]);
    expect(prefillRun([5, 5, 5, 5], 12)).toEqual([0, 1]);
    // A window longer than the bound still runs, alone.
    expect(prefillRun([30, 40], 24)).toEqual([0]);
    // 16 rows padded to 200 would be mostly padding: the short ones go first, the long one later.
    expect(prefillRun([16, 200, 14, 18], 2048)).toEqual([2, 0, 3]);
    expect(prefillRun([200], 2048)).toEqual([0]);
  });
});

describe('a padded batch step', () => {
  test('gives each row the logits of its lone step, and the padded columns contribute nothing', async () => {
    const prompts = [[3, 1, 4], [1, 5, 9, 2, 6, 5, 3], [5], [8, 9, 7, 9, 3]];
    const fed = [2, 7, 1, 8];
    const prefilled = await Promise.all(prompts.map((p) => decoder.step(p, decoder.emptyCache())));
    const alone = await Promise.all(prompts.map((_, r) => decoder.step([fed[r]!], prefilled[r]!.cache)));
    const batch = packRows(prefilled.map((p) => loneRow(p.cache)), shape);
    expect(batch.width).toBe(7);
    expect(batch.keys[0]!.dims).toEqual([4, 2, 7, 8]);
    const together = await decoder.stepBatch(fed, batch);
    alone.forEach((step, r) => expect(gap(together.logits[r]!, step.logits)).toBeLessThan(1e-5));
    // Not trivially equal: the rows' logits differ.
    expect(gap(together.logits[0]!, together.logits[1]!)).toBeGreaterThan(1e-2);

    // Garbage where the mask says padding: every logit stays as it was.
    const garbage = (tensor: ort.Tensor, row: number, padded: number): ort.Tensor => {
      const data = Float32Array.from(tensor.data as Float32Array);
      const [, heads, width, d] = tensor.dims as [number, number, number, number];
      for (let h = 0; h < heads; h++) data.fill(1e4 * (h + 1), ((row * heads + h) * width) * d, ((row * heads + h) * width + padded) * d);
      return new ort.Tensor('float32', data, tensor.dims);
    };
    const dirty = {
      ...batch,
      keys: batch.keys.map((t) => garbage(garbage(t, 0, 4), 2, 6)),
      values: batch.values.map((t) => garbage(garbage(t, 0, 4), 2, 6)),
    };
    const despite = await decoder.stepBatch(fed, dirty);
    together.logits.forEach((logits, r) => expect(gap(despite.logits[r]!, logits)).toBe(0));
    // The new column comes out for every row, padding kept in place.
    expect(despite.cache.lengths).toEqual([4, 8, 2, 6]);
    expect(despite.cache.width).toBe(8);
  });

  test('is refused for a model without position_ids, by name', async () => {
    const older = await CausalDecoder.create(buildGptInferenceGraph(config, randomWeights(5), { positionIds: false }), shape, engine);
    try {
      const first = await older.step([1, 2], older.emptyCache());
      await expect(older.stepBatch([3], packRows([loneRow(first.cache)], shape))).rejects.toThrow(/a padded batch needs a model with a position_ids input/);
    } finally {
      await older.release();
    }
  });
});

describe('the scheduler', () => {
  const settingsFor = (i: number, base: GenerationSettings): GenerationSettings => ({ ...base, seed: 100 + i, maxNewTokens: 6 + (i % 4) * 5 });

  test.each([
    ['greedy', greedy],
    ['seeded draws', sampled],
    ['top-k and top-p draws with a stop sequence', { ...sampled, topK: 5, topP: 0.8, stop: ['o'] }],
    // Each row's penalties come from its own prompt and tokens, whoever else is in the batch.
    ['greedy with repetition and frequency penalties', { ...greedy, repetitionPenalty: 1.8, frequencyPenalty: 0.7 }],
    ['seeded draws with a repetition penalty below 1', { ...sampled, repetitionPenalty: 0.6 }],
  ] as const)('%s: requests joining at different times get the tokens each gets alone, windows sliding, in far fewer runs', async (_, base) => {
    const alone: GenerationResult[] = [];
    const runsBefore = decoder.steps;
    for (const [i, prompt] of PROMPTS.entries()) alone.push(await generate(decoder, tokenizer, tokenizer.encode(prompt), settingsFor(i, base)));
    const sequentialRuns = decoder.steps - runsBefore;

    const scheduler = new GenerationScheduler(decoder, tokenizer, roomy);
    const start = decoder.steps;
    const readers = PROMPTS.map((prompt, i) => new Reader(scheduler.generate(tokenizer.encode(prompt), settingsFor(i, base))));
    // The first runs alone for three tokens; three join; two tokens later the rest join.
    await readers[0]!.take(3);
    const middle = readers.slice(1, 4).map((r) => r.rest());
    await readers[0]!.take(2);
    const late = readers.slice(4).map((r) => r.rest());
    await Promise.all([readers[0]!.rest(), ...middle, ...late]);
    const batchedRuns = decoder.steps - start;

    readers.forEach((reader, i) => {
      expect(reader.result!.tokenIds, PROMPTS[i]).toEqual(alone[i]!.tokenIds);
      expect(reader.result!.text).toBe(alone[i]!.text);
      expect(reader.pieces).toBe(alone[i]!.text);
      expect(reader.result!.finishReason).toBe(alone[i]!.finishReason);
    });
    // The longest generations pass the 24-position window, so rows slide and rejoin.
    expect(Math.max(...PROMPTS.map((p, i) => tokenizer.encode(p).length + settingsFor(i, base).maxNewTokens))).toBeGreaterThan(24);
    expect(batchedRuns).toBeLessThan(sequentialRuns / 2);
    expect(scheduler.running).toBe(0);
  });

  test('16 concurrent requests share decoder runs: far fewer than 16 sequential ones take', async () => {
    const prompts = Array.from({ length: 16 }, (_, i) => tokenizer.encode(PROMPTS[i % PROMPTS.length]!));
    // Short enough that no window slides (a slide costs a batched row one extra pass).
    const settings = { ...greedy, maxNewTokens: 5 };
    const before = decoder.steps;
    for (const prompt of prompts) await generate(decoder, tokenizer, prompt, settings);
    const sequential = decoder.steps - before;
    const scheduler = new GenerationScheduler(decoder, tokenizer, roomy);
    const start = decoder.steps;
    await Promise.all(prompts.map((p) => drain(scheduler.generate(p, settings))));
    const batched = decoder.steps - start;
    expect(sequential).toBe(16 * 5);
    // The 16 arrive together: two prefill runs of similar lengths (1 to 4 characters, 11 to 19),
    // each giving its rows' first tokens, then one run per further token for the whole batch.
    expect(batched).toBe(2 + 4);
  });

  const together: [string, GenerationSettings][] = [
    ['greedy', greedy],
    ['seeded draws', sampled],
    ['top-k and top-p draws with a stop sequence', { ...sampled, topK: 5, topP: 0.8, stop: ['o'] }],
    ['greedy with repetition and frequency penalties', { ...greedy, repetitionPenalty: 1.8, frequencyPenalty: 0.7 }],
  ];
  test.each(DECODER_NAMES.flatMap(([model, which]) => together.map(([name, base]) => [model, name, which, base] as const)))(
    '%s, %s: prompts of different lengths arriving together are prefilled together and get the tokens each gets alone',
    async (_model, _name, which, base) => {
      const model = decoders()[which]!;
      const alone: GenerationResult[] = [];
      for (const [i, prompt] of PROMPTS.entries()) alone.push(await generate(model, tokenizer, tokenizer.encode(prompt), settingsFor(i, base)));
      const scheduler = new GenerationScheduler(model, tokenizer, roomy);
      const start = model.steps;
      const results = await Promise.all(PROMPTS.map((prompt, i) => drain(scheduler.generate(tokenizer.encode(prompt), settingsFor(i, base)))));
      const runs = model.steps - start;
      results.forEach((result, i) => {
        expect(result.tokenIds, PROMPTS[i]).toEqual(alone[i]!.tokenIds);
        expect(result.text).toBe(alone[i]!.text);
        expect(result.finishReason).toBe(alone[i]!.finishReason);
      });
      // The greedy and seeded ones run to max_new_tokens (6 to 21); prefilled one at a time the
      // 8 prompts would take 8 runs before the first step.
      const longest = Math.max(...alone.map((r) => r.tokenIds.length));
      expect(runs).toBeLessThan(PROMPTS.length + longest - 1);
    },
  );

  test('a prefill run stays within maxPrefillPositions (or one context length, when more)', async () => {
    const settings = { ...greedy, maxNewTokens: 5 };
    const prompts = Array.from({ length: 16 }, () => tokenizer.encode('the'));
    const runsOf = async (limits: SchedulerLimits): Promise<number> => {
      const scheduler = new GenerationScheduler(decoder, tokenizer, limits);
      const start = decoder.steps;
      await Promise.all(prompts.map((p) => drain(scheduler.generate(p, settings))));
      return decoder.steps - start;
    };
    // 16 rows of 3 positions: one run by default; at most 24 positions (the context), two runs of 8.
    expect(await runsOf(roomy)).toBe(1 + 4);
    expect(await runsOf({ ...roomy, maxPrefillPositions: 1 })).toBe(2 + 4);
  });

  test('a reader that stops mid-batch takes out only its own row', async () => {
    const scheduler = new GenerationScheduler(decoder, tokenizer, roomy);
    const settings = { ...greedy, maxNewTokens: 16 };
    const alone = await Promise.all(PROMPTS.slice(0, 3).map((p) => generate(decoder, tokenizer, tokenizer.encode(p), settings)));
    const streams = PROMPTS.slice(0, 3).map((p) => scheduler.generate(tokenizer.encode(p), settings));
    const others = [drain(streams[0]!), drain(streams[2]!)];
    await streams[1]!.next();
    await streams[1]!.next();
    await streams[1]!.return(undefined as never);
    expect(scheduler.running).toBe(2);
    const [first, third] = await Promise.all(others);
    expect(first!.tokenIds).toEqual(alone[0]!.tokenIds);
    expect(third!.tokenIds).toEqual(alone[2]!.tokenIds);
    expect(scheduler.running).toBe(0);
  });

  test('past the bounds requests queue, past the queue they are refused naming the bound, and queued ones still finish', async () => {
    const settings = { ...greedy, maxNewTokens: 8 };
    const bySequences = new GenerationScheduler(decoder, tokenizer, { maxSequences: 2, maxTokens: 10_000, maxQueued: 1 });
    const streams = [0, 1, 2].map((i) => bySequences.generate(tokenizer.encode(PROMPTS[i]!), settings));
    await Promise.all(streams.slice(0, 2).map((s) => s.next()));
    const third = streams[2]!.next(); // joins the queue now, runs once a row leaves
    expect([bySequences.running, bySequences.queued]).toEqual([2, 1]);
    const refused = bySequences.generate(tokenizer.encode('fox'), settings);
    const error = await refused.next().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(SchedulerFullError);
    expect((error as SchedulerFullError).limit).toBe('sequences');
    expect((error as Error).message).toMatch(/2 sequences are generating \(at most 2\) and 1 requests wait \(at most 1\)/);
    expect((await third).done).toBe(false);
    const results = await Promise.all(streams.map(drain));
    results.forEach((r) => expect(r.tokenIds).toHaveLength(8));

    // 'the' (3) + 8 reserve 11 positions: two fit in 25, the third waits, a fourth is refused.
    const byTokens = new GenerationScheduler(decoder, tokenizer, { maxSequences: 10, maxTokens: 25, maxQueued: 1 });
    const held = [0, 1, 2].map(() => byTokens.generate(tokenizer.encode('the'), settings));
    await Promise.all(held.slice(0, 2).map((s) => s.next()));
    const waiting = held[2]!.next();
    expect([byTokens.running, byTokens.queued]).toEqual([2, 1]);
    const over = await byTokens.generate(tokenizer.encode('the'), settings).next().then(() => null, (e: unknown) => e);
    expect((over as SchedulerFullError).limit).toBe('tokens');
    expect((over as Error).message).toMatch(/reserve 22 cached tokens \(at most 25\)/);
    await waiting;
    await Promise.all(held.map(drain));

    // One request bigger than the whole budget can never run: refused as the request's own problem.
    const small = new GenerationScheduler(decoder, tokenizer, { maxSequences: 1, maxTokens: 20, maxQueued: 0 });
    const tooBig = (): unknown => small.generate(tokenizer.encode('the quick brown'), { ...settings, maxNewTokens: 20 });
    expect(tooBig).toThrow(GenerationRequestError);
    expect(tooBig).toThrow(/the prompt \(15 tokens\) plus max_new_tokens \(20\) reserve 24 cached tokens, more than the server holds for all sequences together \(20\)/);
    expect(() => new GenerationScheduler(decoder, tokenizer, { maxSequences: 0, maxTokens: 20, maxQueued: 0 })).toThrow(/maxSequences must be a whole number >= 1, got 0/);
  });

  test("a model declaring use_cache_branch (Optimum's merged decoder) is told false on the first pass and true after, alone and batched", async () => {
    {
      const settings = { ...greedy, maxNewTokens: 12 };
      const alone = await Promise.all(PROMPTS.slice(0, 4).map((p) => generate(decoder, tokenizer, tokenizer.encode(p), settings)));
      const mergedAlone = await Promise.all(PROMPTS.slice(0, 4).map((p) => generate(merged, tokenizer, tokenizer.encode(p), settings)));
      const scheduler = new GenerationScheduler(merged, tokenizer, roomy);
      const batched = await Promise.all(PROMPTS.slice(0, 4).map((p) => drain(scheduler.generate(tokenizer.encode(p), settings))));
      alone.forEach((r, i) => {
        expect(mergedAlone[i]!.tokenIds).toEqual(r.tokenIds);
        expect(batched[i]!.tokenIds).toEqual(r.tokenIds);
      });
    }
  });

  test('a model without position_ids steps its rows one at a time, with the same tokens', async () => {
    const older = await CausalDecoder.create(buildGptInferenceGraph(config, randomWeights(5), { positionIds: false }), shape, engine);
    try {
      const scheduler = new GenerationScheduler(older, tokenizer, roomy);
      const settings = { ...greedy, maxNewTokens: 20 };
      const alone = await Promise.all(PROMPTS.slice(0, 4).map((p) => generate(decoder, tokenizer, tokenizer.encode(p), settings)));
      const results = await Promise.all(PROMPTS.slice(0, 4).map((p) => drain(scheduler.generate(tokenizer.encode(p), settings))));
      results.forEach((r, i) => expect(r.tokenIds).toEqual(alone[i]!.tokenIds));
    } finally {
      await older.release();
    }
  });

  test('a refusal says how long until the queue moves: the measured step time times the running rows\' tokens left, as Retry-After', async () => {
    const limits: SchedulerLimits = { maxSequences: 1, maxTokens: 10_000, maxQueued: 1 };
    const refusalWith = async (scheduler: GenerationScheduler, newTokens: number): Promise<SchedulerFullError> => {
      // In one turn of the event loop, before any step: a row with `newTokens` to make, one queued behind it, one refused.
      const running = scheduler.generate(tokenizer.encode('fox'), { ...greedy, maxNewTokens: newTokens });
      const queued = scheduler.generate(tokenizer.encode('the'), { ...greedy, maxNewTokens: 3 });
      const first = running.next();
      const waits = queued.next();
      const refused = (await scheduler.generate(tokenizer.encode('q'), greedy).next().then(() => null, (e: unknown) => e)) as SchedulerFullError;
      expect(refused).toBeInstanceOf(SchedulerFullError);
      await first;
      await running.return(undefined as never);
      await waits;
      await drain(queued);
      return refused;
    };
    // Every step is timed at 1/16 s by this clock (read at a step's start and end, a sixteenth apart).
    let clock = 0;
    const scheduler = new GenerationScheduler(decoder, tokenizer, limits, { now: () => (clock += 1 / 16) });
    const retryAfter = (error: SchedulerFullError): string | undefined => batchFullResponse(error).headers['retry-after'];
    // Nothing timed yet: the floor, 1 s.
    const untimed = await refusalWith(scheduler, 40);
    expect(untimed.waitSeconds).toBeNull();
    expect(retryAfter(untimed)).toBe('1');
    // The queue's head gets in when the running row leaves: 40 tokens x 1/16 s = 2.5 s, then 200 x 1/16 = 12.5 s.
    const short = await refusalWith(scheduler, 40);
    expect(short.waitSeconds).toBe(2.5);
    expect(retryAfter(short)).toBe('3');
    const long = await refusalWith(scheduler, 200);
    expect(long.waitSeconds).toBe(12.5);
    expect(retryAfter(long)).toBe('13');
    expect(batchFullResponse(long).message).toMatch(/retry after 13 s$/);
    // More than a minute's worth: the ceiling.
    expect(retryAfter(await refusalWith(scheduler, 2000))).toBe('60');
  });
});
