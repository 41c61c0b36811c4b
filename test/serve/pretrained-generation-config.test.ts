/**
 * A GPT-2 class export's end-of-sequence ids and generation_config.json, as Hugging Face's
 * users expect them: exports (fixtures/hf-exports.ts) sealed by `modelstack package`, served
 * over real HTTP on loopback, their answers checked against greedy tokens ONNX Runtime computes
 * directly on the same file (fixtures/direct-greedy.ts).
 *
 * - config.json's eos_token_id may be a list (Llama 3, Qwen, Gemma): the generation stops on
 *   any of its ids, the second as well as the first, finish reason eos;
 * - generation_config.json's eos_token_id and bos_token_id win over config.json's;
 * - its max_new_tokens, do_sample, temperature, top_k and repetition_penalty are the defaults of
 *   a request that leaves them out, and a request's own values win; a repetition penalty changes
 *   the greedy tokens exactly as the CTRL rule applied to the raw logits says;
 * - TGI's `details` (finish reason, token count, seed, each token's id, text and logprob; the
 *   ids decode to the generated text) and `truncate` (the answer of the prompt's last N tokens);
 * - a generation_config.json with a wrong value is refused when packaging, naming the field;
 * - the packaged generation_config.json is sealed: edited or removed, the package stops serving.
 */
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelFolder } from '../../bin/cli/model-source.ts';
import { packagePretrainedModel } from '../../bin/cli/package.ts';
import type { GptConfig } from '../../model-runtime/src/models/gpt.ts';
import { loadServedModel } from '../../model-runtime/src/serve/load-served-model.ts';
import { directGreedy } from './fixtures/direct-greedy.ts';
import { ServedExports } from './fixtures/served-exports.ts';
import { GPT2_END_OF_TEXT, GPT2_VOCAB_SIZE, gpt2TokenizerJson, writeGpt2ExportFolder, type Gpt2ExportFolderOptions } from './fixtures/hf-exports.ts';
import { invoke, type LocalServer } from './fixtures/local-server.ts';

const PROMPT = 'Hello world';
let root: string;
let gpt2: Tokenizer;
let config: GptConfig;
/** The export's greedy tokens after PROMPT, no eos: every variant below has these weights. */
let greedy: number[];
const served = new ServedExports(() => root);

const exportDir = (name: string): string => served.dir(name);
const text = (tokenIds: readonly number[]): string => gpt2.decode([...tokenIds], { clean_up_tokenization_spaces: false });

const serveExport = (name: string, options: Gpt2ExportFolderOptions): ReturnType<ServedExports['serve']> => served.serve(name, options);

async function generated(server: LocalServer, inputs: string, parameters: object): Promise<string> {
  const answer = await invoke(server.url, JSON.stringify({ inputs, parameters }));
  expect(answer.status, answer.text).toBe(200);
  return (answer.json() as [{ generated_text: string }])[0].generated_text;
}

interface StreamLine {
  readonly token: { readonly id: number; readonly text: string; readonly special: boolean };
  readonly generated_text: string | null;
  readonly details: { readonly finish_reason: string; readonly generated_tokens: number; readonly seed: number | null } | null;
}

async function streamed(server: LocalServer, parameters: object): Promise<StreamLine[]> {
  const answer = await invoke(server.url, JSON.stringify({ inputs: PROMPT, parameters, stream: true }));
  expect(answer.status, answer.text).toBe(200);
  return answer.text.trimEnd().split('\n').map((line) => JSON.parse(line) as StreamLine);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'modelstack-generation-config-test-'));
  gpt2 = new Tokenizer(await gpt2TokenizerJson(), {});
  config = await writeGpt2ExportFolder(exportDir('base'));
  greedy = await directGreedy(path.join(exportDir('base'), 'decoder_model_merged.onnx'), config, gpt2.encode(PROMPT).ids, 8, []);
  // The cases below stop on greedy[1..4]: each must come first where it stands, and <|endoftext|> not at all.
  greedy.slice(0, 5).forEach((id, i) => expect(greedy.indexOf(id)).toBe(i));
  expect(greedy).not.toContain(GPT2_END_OF_TEXT);
}, 60_000);

afterAll(async () => {
  await served.close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe("config.json's eos_token_id as a list", () => {
  it('ends the generation on the second id of the list: the text before it, finish reason eos_token, the token counted', async () => {
    const stopId = greedy[2]!;
    // generation_config.json without eos_token_id (only the keys transformers writes for GPT-2): config.json's list applies.
    const { server } = await serveExport('eos-list', {
      configJson: { eos_token_id: [GPT2_END_OF_TEXT, stopId] },
      generationConfig: { _from_model_config: true, bos_token_id: GPT2_END_OF_TEXT, transformers_version: '4.46.0' },
    });
    expect(await generated(server, PROMPT, { max_new_tokens: 8 })).toBe(text(greedy.slice(0, 2)));
    const lines = await streamed(server, { max_new_tokens: 8 });
    expect(lines.map((l) => l.token.id)).toEqual(greedy.slice(0, 3));
    const last = lines.at(-1)!;
    expect(last.token).toMatchObject({ id: stopId, special: true });
    expect(last.details).toMatchObject({ finish_reason: 'eos_token', generated_tokens: 3 });
    expect(last.generated_text).toBe(text(greedy.slice(0, 2)));
    // details: the eos token listed last, special, with its own text; generated_text leaves it out.
    const answer = await invoke(server.url, JSON.stringify({ inputs: PROMPT, parameters: { max_new_tokens: 8, details: true } }));
    const [detailed] = answer.json() as [{ generated_text: string; details: { finish_reason: string; generated_tokens: number; tokens: { id: number; text: string; special: boolean }[] } }];
    expect(detailed.generated_text).toBe(text(greedy.slice(0, 2)));
    expect(detailed.details).toMatchObject({ finish_reason: 'eos_token', generated_tokens: 3 });
    expect(detailed.details.tokens.map((t) => [t.id, t.special])).toEqual([[greedy[0], false], [greedy[1], false], [stopId, true]]);
    expect(detailed.details.tokens[2]!.text).toBe(text([stopId]));
    expect(text(detailed.details.tokens.filter((t) => !t.special).map((t) => t.id))).toBe(detailed.generated_text);
  });
});

describe("generation_config.json's ids win over config.json's", () => {
  let server: LocalServer;
  beforeAll(async () => {
    ({ server } = await serveExport('generation-eos', {
      configJson: { eos_token_id: greedy[1]!, bos_token_id: GPT2_END_OF_TEXT },
      generationConfig: { bos_token_id: gpt2.encode('Hello').ids[0]!, eos_token_id: [GPT2_END_OF_TEXT, greedy[3]!] },
    }));
  }, 60_000);

  it("stops on generation_config.json's eos ids and not on config.json's", async () => {
    expect(await generated(server, PROMPT, { max_new_tokens: 8 })).toBe(text(greedy.slice(0, 3)));
  });

  it("an empty prompt starts from generation_config.json's bos_token_id, as generate() without input_ids does", async () => {
    const fromBos = await directGreedy(path.join(exportDir('base'), 'decoder_model_merged.onnx'), config, gpt2.encode('Hello').ids, 4, [GPT2_END_OF_TEXT, greedy[3]!]);
    const fromEndOfText = await directGreedy(path.join(exportDir('base'), 'decoder_model_merged.onnx'), config, [GPT2_END_OF_TEXT], 4, [GPT2_END_OF_TEXT, greedy[3]!]);
    expect(fromBos).not.toEqual(fromEndOfText);
    expect(await generated(server, '', { max_new_tokens: 4 })).toBe(text(fromBos));
  });
});

describe("generation_config.json's defaults", () => {
  let server: LocalServer;
  let folder: ModelFolder;
  beforeAll(async () => {
    // Sampling by default, but top_k 1 keeps only the likeliest token: greedy's tokens until a request widens it.
    ({ server, folder } = await serveExport('defaults', { generationConfig: { eos_token_id: GPT2_END_OF_TEXT, max_new_tokens: 3, do_sample: true, top_k: 1, temperature: 5, pad_token_id: GPT2_END_OF_TEXT } }));
  }, 60_000);

  it('apply to a request that leaves them out: max_new_tokens 3, sampling at top_k 1', async () => {
    expect(await generated(server, PROMPT, {})).toBe(text(greedy.slice(0, 3)));
    const lines = await streamed(server, { seed: 4 });
    expect(lines.at(-1)!.details).toMatchObject({ finish_reason: 'length', generated_tokens: 3, seed: 4 });
  });

  it("lose to the request's own values", async () => {
    expect(await generated(server, PROMPT, { max_new_tokens: 5 })).toBe(text(greedy.slice(0, 5)));
    // top_k 0 lifts the filter: drawn at generation_config.json's temperature 5 over 50257 tokens, not greedy's.
    const widened = await generated(server, PROMPT, { top_k: 0, seed: 1 });
    expect(widened).not.toBe(text(greedy.slice(0, 3)));
    expect(gpt2.encode(widened).ids.length).toBeGreaterThan(0);
    expect(await generated(server, PROMPT, { top_k: 0, seed: 1, do_sample: false })).toBe(text(greedy.slice(0, 3)));
    const greedyLines = await streamed(server, { do_sample: false });
    expect(greedyLines.at(-1)!.details!.seed).toBeNull();
  });

  it('the packaged generation_config.json is sealed: edited or removed, the package does not load', async () => {
    const file = path.join(folder.dir, 'generation_config.json');
    const original = await readFile(file, 'utf8');
    await writeFile(file, JSON.stringify({ ...(JSON.parse(original) as object), max_new_tokens: 200 }));
    await expect(loadServedModel(folder.dir)).rejects.toThrow(/changed: generation_config\.json/);
    await unlink(file);
    await expect(loadServedModel(folder.dir)).rejects.toThrow(/missing: generation_config\.json/);
    await writeFile(file, original);
  });
});

describe("TGI's repetition_penalty, details and truncate", () => {
  // Below 1 (allowed, 1 = off): the export's random weights never repeat a token greedily, so a
  // penalty above 1 would change nothing; one below 1 favours the prompt's tokens and does.
  const PENALTY = 0.6;
  let server: LocalServer;
  const onnx = (): string => path.join(exportDir('base'), 'decoder_model_merged.onnx');
  beforeAll(async () => {
    ({ server } = await serveExport('penalised', { generationConfig: { eos_token_id: GPT2_END_OF_TEXT, repetition_penalty: PENALTY } }));
  }, 60_000);

  it("generation_config.json's repetition_penalty is the default, and changes greedy tokens as the CTRL rule on the raw logits says", async () => {
    const penalised = await directGreedy(onnx(), config, gpt2.encode(PROMPT).ids, 8, [GPT2_END_OF_TEXT], PENALTY);
    expect(penalised).not.toEqual(greedy);
    expect(await generated(server, PROMPT, { max_new_tokens: 8 })).toBe(text(penalised));
  });

  it("loses to the request's own repetition_penalty", async () => {
    expect(await generated(server, PROMPT, { max_new_tokens: 8, repetition_penalty: 1 })).toBe(text(greedy));
    const stronger = await directGreedy(onnx(), config, gpt2.encode(PROMPT).ids, 8, [GPT2_END_OF_TEXT], 0.3);
    expect(stronger).not.toEqual(greedy);
    expect(stronger).not.toEqual(await directGreedy(onnx(), config, gpt2.encode(PROMPT).ids, 8, [GPT2_END_OF_TEXT], PENALTY));
    expect(await generated(server, PROMPT, { max_new_tokens: 8, repetition_penalty: 0.3 })).toBe(text(stronger));
  });

  it("details: TGI's fields, one token per generated token, their ids decoding to generated_text", async () => {
    const answer = await invoke(server.url, JSON.stringify({ inputs: PROMPT, parameters: { max_new_tokens: 6, repetition_penalty: 1, details: true, decoder_input_details: false, watermark: false, best_of: 1 } }));
    expect(answer.status, answer.text).toBe(200);
    const [only] = answer.json() as [{ generated_text: string; details: { tokens: { id: number; text: string; logprob: number; special: boolean }[] } }];
    expect(only).toEqual({
      generated_text: text(greedy.slice(0, 6)),
      details: { finish_reason: 'length', generated_tokens: 6, seed: null, prefill: [], tokens: expect.any(Array) },
    });
    expect(only.details.tokens.map((t) => t.id)).toEqual(greedy.slice(0, 6));
    expect(text(only.details.tokens.map((t) => t.id))).toBe(only.generated_text);
    expect(only.details.tokens.map((t) => t.text).join('')).toBe(only.generated_text);
    for (const token of only.details.tokens) {
      expect(Object.keys(token)).toEqual(['id', 'text', 'logprob', 'special']);
      expect(token.special).toBe(false);
      expect(token.logprob).toBeLessThanOrEqual(0);
    }
    // The streamed answer's last line carries the same finish reason and count.
    const lines = await streamed(server, { max_new_tokens: 6, repetition_penalty: 1 });
    expect(lines.map((l) => l.token.id)).toEqual(greedy.slice(0, 6));
    expect(lines.at(-1)!.details).toEqual({ finish_reason: 'length', generated_tokens: 6, seed: null });
    // Without details the answer is the plain one; a sampled one reports its seed.
    expect(await generated(server, PROMPT, { max_new_tokens: 2, repetition_penalty: 1 })).toBe(text(greedy.slice(0, 2)));
    const sampled = await invoke(server.url, JSON.stringify({ inputs: [PROMPT, PROMPT], parameters: { max_new_tokens: 2, do_sample: true, seed: 9, details: true } }));
    expect((sampled.json() as [[{ details: { seed: number } }], [{ details: { seed: number } }]]).map(([a]) => a.details.seed)).toEqual([9, 9]);
  });

  it('truncate keeps the prompt\'s last N tokens: the answer of a request with only those', async () => {
    const long = 'The quick brown fox jumps over the lazy dog. Hello world';
    const ids = gpt2.encode(long).ids;
    expect(ids.length).toBeGreaterThan(4);
    const last4 = ids.slice(-4);
    const expected = await directGreedy(onnx(), config, last4, 5, [GPT2_END_OF_TEXT], PENALTY);
    expect(expected).not.toEqual(await directGreedy(onnx(), config, ids, 5, [GPT2_END_OF_TEXT], PENALTY));
    expect(await generated(server, long, { max_new_tokens: 5, truncate: 4 })).toBe(text(expected));
    // A truncate at or past the prompt's length changes nothing; return_full_text still puts the whole prompt first, as TGI does.
    expect(await generated(server, long, { max_new_tokens: 5, truncate: ids.length })).toBe(await generated(server, long, { max_new_tokens: 5 }));
    expect(await generated(server, long, { max_new_tokens: 5, truncate: 4, return_full_text: true })).toBe(long + text(expected));
  });
});

describe('a generation_config.json with a wrong value is refused when packaging, naming the field and its range', () => {
  const cases: readonly [string, Record<string, unknown>, RegExp][] = [
    ['top_p 2', { top_p: 2 }, /generation_config\.json: top_p must be a number in \(0, 1\] \(1 = off\), got 2/],
    ['eos_token_id "x"', { eos_token_id: 'x' }, /generation_config\.json: eos_token_id must be a token id, a list of token ids or null \(token ids 0 to 50256, below vocab_size 50257\), got "x"/],
    ['an eos id past vocab_size', { eos_token_id: [GPT2_END_OF_TEXT, GPT2_VOCAB_SIZE] }, /generation_config\.json: eos_token_id must be .* got 50257/],
    ['max_new_tokens 0', { max_new_tokens: 0 }, /generation_config\.json: max_new_tokens must be a whole number >= 1, got 0/],
    ['temperature 0 with do_sample true', { temperature: 0, do_sample: true }, /generation_config\.json: temperature must be a number above 0 \(0 only where do_sample is not true: greedy\), got 0/],
    ['do_sample "yes"', { do_sample: 'yes' }, /generation_config\.json: do_sample must be true or false, got "yes"/],
    ['top_k 1.5', { top_k: 1.5 }, /generation_config\.json: top_k must be a whole number >= 0 \(0 = off\), got 1\.5/],
    ['repetition_penalty 0', { repetition_penalty: 0 }, /generation_config\.json: repetition_penalty must be a number from 0\.01 to 100 \(1 = off\), got 0/],
  ];
  for (const [what, generationConfig, message] of cases) {
    it(what, async () => {
      const name = `bad-${what.replace(/\W+/g, '-')}`;
      await writeGpt2ExportFolder(exportDir(name), { generationConfig });
      await expect(packagePretrainedModel(exportDir(name), { task: 'text-generation', output: path.join(root, 'x.tar.gz') })).rejects.toThrow(message);
    });
  }

  it("and config.json's eos_token_id list too", async () => {
    await writeGpt2ExportFolder(exportDir('bad-config-eos'), { configJson: { eos_token_id: [GPT2_END_OF_TEXT, 'a'] } });
    await expect(packagePretrainedModel(exportDir('bad-config-eos'), { task: 'text-generation', output: path.join(root, 'x.tar.gz') })).rejects.toThrow(/config\.json: eos_token_id must be a token id, a list of token ids or null .*got "a"/);
  });
});
