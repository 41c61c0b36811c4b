/**
 * Generation over a real model.onnx: with the KV cache it produces exactly the tokens that
 * re-feeding the whole window every step produces (greedy, sampled, and across window slides);
 * a seed reproduces a sampled continuation; a model trained on a repeated sentence continues it;
 * stop sequences, eos and max_new_tokens end it; streamed pieces add up to the final text, even
 * when byte-level tokens split characters; requests that cannot work are refused by name.
 */
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRandom } from '../../../model-runtime/src/data/random.ts';
import { CausalDecoder } from '../../../model-runtime/src/models/generation-decoder.ts';
import type { DecoderShape } from '../../../model-runtime/src/models/generation-decoder.ts';
import type { GenerationSettings } from '../../../model-runtime/src/models/generation.ts';
import { generate, generateTokens, GenerationRequestError } from '../../../model-runtime/src/models/generation.ts';
import type { GptConfig } from '../../../model-runtime/src/models/gpt.ts';
import { buildGptEvaluationGraph, buildGptInferenceGraph, buildGptTrainingGraph, gptParameters } from '../../../model-runtime/src/models/gpt.ts';
import { GraphTrainer } from '../../../model-runtime/src/models/graph-trainer.ts';
import type { TensorValues } from '../../../model-runtime/src/models/graph-trainer.ts';
import { initialValues } from '../../../model-runtime/src/models/init.ts';
import { argMax, chooseToken, sampleToken } from '../../../model-runtime/src/models/sampling.ts';
import type { OptimizerConfig } from '../../../model-runtime/src/optim/optimizer-config.ts';
import { learnTokenizer } from '../../../model-runtime/src/text/learn-tokenizer.ts';
import type { Tokenizer } from '../../../model-runtime/src/text/tokenizer.ts';

const SENTENCE = 'hello world. ';
const engine = { intraOpNumThreads: 1, log: (): void => {} };
const greedy: GenerationSettings = { maxNewTokens: 20, doSample: false, temperature: 1, topK: 0, topP: 1, seed: 0, stop: [], eosTokenIds: [] };
const sampled: GenerationSettings = { ...greedy, doSample: true, temperature: 1.5, topK: 0, topP: 1, seed: 11 };

function decoderShape(config: GptConfig): DecoderShape {
  return { nLayer: config.nLayer, nHead: config.nHead, headDim: config.nEmbd / config.nHead, vocabSize: config.vocabSize, contextLength: config.contextLength };
}

/** Weights at GPT-2's initialisation, enlarged so that untrained logits are far from uniform. */
function randomWeights(config: GptConfig, seed: number): TensorValues {
  const random = createRandom(seed);
  return Object.fromEntries(gptParameters(config).map((p) => [p.name, { dims: p.shape, data: initialValues(p.init, p.shape, random).map((v) => (typeof p.init === 'object' ? v * 15 : v)) }]));
}

const collect = async (decoder: CausalDecoder, tokenizer: Tokenizer, prompt: number[], settings: GenerationSettings): Promise<{ pieces: string[]; ids: number[]; result: Awaited<ReturnType<typeof generate>> }> => {
  const iterator = generateTokens(decoder, tokenizer, prompt, settings);
  const pieces: string[] = [];
  const ids: number[] = [];
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) return { pieces, ids, result: next.value };
    pieces.push(next.value.text);
    ids.push(next.value.id);
  }
};

describe('an untrained model (logits far from uniform)', () => {
  const tokenizer = learnTokenizer(['the quick brown fox jumps over the lazy dog 0123456789'], { kind: 'char' });
  const config: GptConfig = { vocabSize: tokenizer.vocabSize, contextLength: 12, nLayer: 2, nHead: 2, nEmbd: 16, bias: true, dropout: 0 };
  let decoder: CausalDecoder;
  beforeAll(async () => {
    decoder = await CausalDecoder.create(buildGptInferenceGraph(config, randomWeights(config, 5)), decoderShape(config), engine);
  });
  afterAll(async () => decoder.release());
  const prompt = (): number[] => tokenizer.encode('the fox');

  test.each([
    ['greedy', greedy],
    ['sampled', sampled],
    ['top-k and top-p', { ...sampled, topK: 5, topP: 0.8 }],
  ] as const)('%s: the KV cache gives the tokens of re-feeding the whole window each step, across window slides', async (_, settings) => {
    // 7 prompt tokens + 30 new in a 12-position window: the window slides several times.
    const withCache = await generate(decoder, tokenizer, prompt(), { ...settings, maxNewTokens: 30 });
    const without = await generate(decoder, tokenizer, prompt(), { ...settings, maxNewTokens: 30, useCache: false });
    expect(withCache.tokenIds).toHaveLength(30);
    expect(withCache.tokenIds).toEqual(without.tokenIds);
    expect(withCache.finishReason).toBe('length');
  });

  test('the same seed gives the same continuation, another seed another one', async () => {
    const run = async (seed: number): Promise<readonly number[]> => (await generate(decoder, tokenizer, prompt(), { ...sampled, seed, maxNewTokens: 5 })).tokenIds;
    const first = await run(1);
    expect(await run(1)).toEqual(first);
    const others = await Promise.all([2, 3, 4].map(run));
    expect(others.some((ids) => ids.join() !== first.join())).toBe(true);
  });

  /** The first greedy tokens computed here from the decoder's raw logits (the whole window each step), penalised by `penalize`. */
  const referenceGreedy = async (count: number, penalize: (logits: Float32Array, history: readonly number[]) => Float32Array): Promise<number[]> => {
    const tokens = prompt();
    const made: number[] = [];
    for (let i = 0; i < count; i++) {
      const { logits } = await decoder.step(tokens, decoder.emptyCache());
      const id = argMax(penalize(Float32Array.from(logits), tokens));
      tokens.push(id);
      made.push(id);
    }
    return made;
  };

  test('repetition_penalty changes greedy tokens exactly as the CTRL rule on the raw logits says', async () => {
    const penalty = 4;
    const ctrl = (logits: Float32Array, history: readonly number[]): Float32Array => {
      for (const id of new Set(history)) logits[id] = logits[id]! > 0 ? logits[id]! / penalty : logits[id]! * penalty;
      return logits;
    };
    const expected = await referenceGreedy(4, ctrl);
    const plain = await referenceGreedy(4, (l) => l);
    expect(expected).not.toEqual(plain);
    const penalised = await generate(decoder, tokenizer, prompt(), { ...greedy, maxNewTokens: 4, repetitionPenalty: penalty });
    expect(penalised.tokenIds).toEqual(expected);
    expect((await generate(decoder, tokenizer, prompt(), { ...greedy, maxNewTokens: 4 })).tokenIds).toEqual(plain);
    // The first token's logprob is the log-softmax of the penalised logits it was chosen from.
    const first = await generateTokens(decoder, tokenizer, prompt(), { ...greedy, maxNewTokens: 1, repetitionPenalty: penalty }).next();
    const scores = ctrl(Float32Array.from((await decoder.step(prompt(), decoder.emptyCache())).logits), prompt());
    const max = Math.max(...scores);
    const expectedLogprob = scores[expected[0]!]! - max - Math.log(scores.reduce((a, x) => a + Math.exp(x - max), 0));
    if (first.done === true) throw new Error('no first token');
    expect(first.value.logprob).toBeCloseTo(expectedLogprob, 5);
    // The cache changes nothing with a penalty on either, across window slides.
    const settings = { ...greedy, maxNewTokens: 30, repetitionPenalty: 1.5 };
    expect((await generate(decoder, tokenizer, prompt(), settings)).tokenIds).toEqual((await generate(decoder, tokenizer, prompt(), { ...settings, useCache: false })).tokenIds);
  });

  test("frequency_penalty subtracts penalty x the token's share of prompt and generated tokens (TGI's rule)", async () => {
    const penalty = 2;
    const frequency = (logits: Float32Array, history: readonly number[]): Float32Array => {
      for (const id of new Set(history)) logits[id] = logits[id]! - penalty * (history.filter((t) => t === id).length / history.length);
      return logits;
    };
    const expected = await referenceGreedy(4, frequency);
    expect(expected).not.toEqual(await referenceGreedy(4, (l) => l));
    expect((await generate(decoder, tokenizer, prompt(), { ...greedy, maxNewTokens: 4, frequencyPenalty: penalty })).tokenIds).toEqual(expected);
  });

  test('a model.onnx without position_ids (exported before it existed) still loads and generates the same tokens', async () => {
    expect(decoder.takesPositionIds).toBe(true);
    const older = await CausalDecoder.create(buildGptInferenceGraph(config, randomWeights(config, 5), { positionIds: false }), decoderShape(config), engine);
    try {
      expect(older.takesPositionIds).toBe(false);
      const settings = { ...greedy, maxNewTokens: 15 };
      const expected = await generate(decoder, tokenizer, prompt(), settings);
      expect((await generate(older, tokenizer, prompt(), settings)).tokenIds).toEqual(expected.tokenIds);
    } finally {
      await older.release();
    }
  });

  test('requests that cannot work are refused by name', async () => {
    const refused = async (ids: number[], settings: GenerationSettings): Promise<string> => {
      try {
        await generate(decoder, tokenizer, ids, settings);
      } catch (error) {
        expect(error).toBeInstanceOf(GenerationRequestError);
        return (error as Error).message;
      }
      throw new Error('not refused');
    };
    expect(await refused(tokenizer.encode('the quick brown fox'), greedy)).toMatch(/the prompt is 19 tokens, more than the model's context length of 12 tokens/);
    expect(await refused(prompt(), { ...greedy, overflow: 'refuse', maxNewTokens: 6 })).toMatch(/the prompt \(7 tokens\) plus max_new_tokens \(6\) exceed the context length of 12 tokens/);
    expect(await refused(prompt(), { ...sampled, temperature: 0 })).toMatch(/temperature must be a number above 0, got 0/);
    expect(await refused(prompt(), { ...sampled, topP: 1.5 })).toMatch(/top_p must be in \(0, 1\]/);
    expect(await refused(prompt(), { ...greedy, maxNewTokens: 0 })).toMatch(/max_new_tokens must be a whole number >= 1, got 0/);
    expect(await refused([], greedy)).toMatch(/the prompt is empty/);
    expect(await refused(prompt(), { ...greedy, repetitionPenalty: 0 })).toMatch(/repetition_penalty must be a number from 0\.01 to 100 \(1 = off\), got 0/);
    expect(await refused(prompt(), { ...greedy, frequencyPenalty: -3 })).toMatch(/frequency_penalty must be a number from -2 to 2 \(0 = off\), got -3/);
    // Within the window, 'refuse' generates.
    expect((await generate(decoder, tokenizer, prompt(), { ...greedy, overflow: 'refuse', maxNewTokens: 5 })).tokenIds).toHaveLength(5);
  });
});

describe('a model trained on a repeated sentence', () => {
  const tokenizer = learnTokenizer([SENTENCE.repeat(4)], { kind: 'char' });
  const config: GptConfig = { vocabSize: tokenizer.vocabSize, contextLength: 16, nLayer: 1, nHead: 2, nEmbd: 32, bias: true, dropout: 0 };
  const [eos] = tokenizer.encode('<|endoftext|>') as [number];
  let decoder: CausalDecoder;
  beforeAll(async () => {
    const optimizer: OptimizerConfig = {
      name: 'adamw', learningRate: 1e-2, momentum: 0, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0, gradClip: 1,
      schedule: { kind: 'constant', warmupSteps: 0, totalSteps: 150 },
    };
    const trainer = await GraphTrainer.create({
      parameters: gptParameters(config), optimizer, seed: 1, engine,
      trainingGraph: buildGptTrainingGraph(config, optimizer), evaluationGraph: buildGptEvaluationGraph(config),
    });
    // The sentence, each followed by <|endoftext|>, in windows at every offset.
    const stream = tokenizer.encode(`${SENTENCE}<|endoftext|>`.repeat(6));
    const period = stream.length / 6;
    const rows = Array.from({ length: period }, (_, offset) => offset);
    const feed = (shift: number): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(rows.flatMap((o) => stream.slice(o + shift, o + shift + 16)), BigInt), [rows.length, 16]);
    for (let i = 0; i < 150; i++) await trainer.trainStep({ input_ids: feed(0), targets: feed(1) });
    decoder = await CausalDecoder.create(buildGptInferenceGraph(config, trainer.parameterValues()), decoderShape(config), engine);
    await trainer.release();
  }, 60_000);
  afterAll(async () => decoder.release());

  test('greedy continues the sentence; streamed pieces add up to the result', async () => {
    const { pieces, result } = await collect(decoder, tokenizer, tokenizer.encode('hel'), { ...greedy, maxNewTokens: 8 });
    expect(result.text).toBe('lo world');
    expect(pieces.join('')).toBe(result.text);
    expect(result.finishReason).toBe('length');
  });

  test('a stop sequence ends the text with it, a prefix of it is held back until it is decided, eos ends without text', async () => {
    const stopped = await collect(decoder, tokenizer, tokenizer.encode('hel'), { ...greedy, maxNewTokens: 30, stop: ['wor', 'xyz'] });
    expect(stopped.result).toMatchObject({ text: 'lo wor', finishReason: 'stop' });
    // 'w' and 'wo' could begin the stop sequence: they arrive as one piece once it matched.
    expect(stopped.pieces).toEqual(['l', 'o', ' ', '', '', 'wor']);
    const ended = await generate(decoder, tokenizer, tokenizer.encode('hello wor'), { ...greedy, maxNewTokens: 30, eosTokenIds: [eos] });
    expect(ended).toMatchObject({ text: 'ld. ', finishReason: 'eos' });
    // Several eos ids (Llama 3's end_of_text and eot_id): whichever comes first ends it, counted as a token.
    const [period] = tokenizer.encode('.') as [number];
    const either = await generate(decoder, tokenizer, tokenizer.encode('hello wor'), { ...greedy, maxNewTokens: 30, eosTokenIds: [eos, period] });
    expect(either).toMatchObject({ text: 'ld', finishReason: 'eos' });
    expect(either.tokenIds).toEqual(tokenizer.encode('ld'));
    // Without an eos id the model goes on past the end of the sentence.
    expect((await generate(decoder, tokenizer, tokenizer.encode('hello wor'), { ...greedy, maxNewTokens: 6 })).text).toBe('ld. <|endoftext|>h');
  });
});

describe('text handed out only when final', () => {
  test('byte-level tokens that split a character never hand out half of it', async () => {
    const text = '你好，世界 🙂🎉 naïve café 你好世界';
    const tokenizer = learnTokenizer([text.repeat(3)], { kind: 'bpe', vocabSize: 300 });
    const config: GptConfig = { vocabSize: tokenizer.vocabSize, contextLength: 32, nLayer: 1, nHead: 2, nEmbd: 16, bias: false, dropout: 0 };
    const decoder = await CausalDecoder.create(buildGptInferenceGraph(config, randomWeights(config, 2)), decoderShape(config), engine);
    try {
      for (const seed of [1, 2, 3]) {
        const { pieces, result } = await collect(decoder, tokenizer, tokenizer.encode('你'), { ...sampled, seed, maxNewTokens: 24 });
        expect(pieces.join('')).toBe(result.text);
        expect(result.text).toBe(tokenizer.decode([...result.tokenIds]));
        // A piece never ends in the replacement character an unfinished UTF-8 sequence decodes to,
        // except for the last one (the generation ended there).
        for (const piece of pieces.slice(0, -1)) expect(piece.endsWith('\ufffd')).toBe(false);
      }
    } finally {
      await decoder.release();
    }
  });
});

describe('sampling', () => {
  const logits = Float32Array.from([1, 3, 2.5, -1, 0.5]);
  test('do_sample false is the first largest logit; top_k 1 and a tiny top_p are too', () => {
    const random = createRandom(1);
    expect(argMax(Float32Array.from([0, 2, 2, 1]))).toBe(1);
    expect(sampleToken(logits, { doSample: false, temperature: 1, topK: 0, topP: 1 }, random)).toBe(1);
    for (let i = 0; i < 50; i++) {
      expect(sampleToken(logits, { doSample: true, temperature: 1, topK: 1, topP: 1 }, random)).toBe(1);
      expect(sampleToken(logits, { doSample: true, temperature: 1, topK: 0, topP: 0.01 }, random)).toBe(1);
    }
  });

  test("a token's logprob is under the distribution it was drawn from (TGI's): all logits greedy, the kept ones over temperature sampled", () => {
    const logSoftmax = (xs: number[], i: number): number => xs[i]! - Math.log(xs.reduce((a, x) => a + Math.exp(x), 0));
    expect(chooseToken(logits, { doSample: false, temperature: 2, topK: 2, topP: 1 }, createRandom(1))).toEqual({ id: 1, logprob: expect.closeTo(logSoftmax(Array.from(logits), 1), 6) });
    const random = createRandom(3);
    const seen = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const { id, logprob } = chooseToken(logits, { doSample: true, temperature: 2, topK: 2, topP: 1 }, random);
      seen.add(id);
      expect(logprob).toBeCloseTo(logSoftmax([3 / 2, 2.5 / 2], id === 1 ? 0 : 1), 6);
    }
    expect([...seen].sort()).toEqual([1, 2]);
  });

  test('a temperature near 0 and large logits still choose the top token with a finite logprob', () => {
    const logits = Float32Array.of(3e38, 1e38, -3e38, 2e38);
    for (const temperature of [Number.MIN_VALUE, 1e-300, 1e-3]) {
      const { id, logprob } = chooseToken(logits, { doSample: true, temperature, topK: 0, topP: 1 }, createRandom(3));
      expect(id).toBe(0);
      expect(logprob).toBe(0);
    }
  });

  test('draws follow softmax(logits / temperature), restricted to the top-k and renormalised', () => {
    const draws = (settings: { temperature: number; topK: number; topP: number }, n = 20000): number[] => {
      const random = createRandom(7);
      const counts = new Array<number>(logits.length).fill(0);
      for (let i = 0; i < n; i++) counts[sampleToken(logits, { doSample: true, ...settings }, random)]! += 1;
      return counts.map((c) => c / n);
    };
    const softmax = (xs: number[]): number[] => {
      const e = xs.map((x) => Math.exp(x));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    };
    const expected = softmax(Array.from(logits, (l) => l / 2));
    draws({ temperature: 2, topK: 0, topP: 1 }).forEach((f, i) => expect(Math.abs(f - expected[i]!)).toBeLessThan(0.01));
    const top2 = softmax([3, 2.5]);
    expect(draws({ temperature: 1, topK: 2, topP: 1 })).toEqual([0, expect.closeTo(top2[0]!, 1), expect.closeTo(top2[1]!, 1), 0, 0]);
    // top_p 0.9 over softmax(logits) = (0.07, 0.54, 0.33, 0.01, 0.04): tokens 1 and 2 reach 0.87, token 0 takes it to 0.95.
    const p = softmax(Array.from(logits));
    const nucleus = draws({ temperature: 1, topK: 0, topP: 0.9 });
    expect(p[1]! + p[2]! + p[0]!).toBeGreaterThanOrEqual(0.9);
    expect(nucleus[3]).toBe(0);
    expect(nucleus[4]).toBe(0);
    expect(Math.abs(nucleus[0]! - p[0]! / (p[0]! + p[1]! + p[2]!))).toBeLessThan(0.01);
  });
});
