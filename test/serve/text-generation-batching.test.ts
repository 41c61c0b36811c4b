/**
 * Continuous batching in the served language model, over real HTTP on loopback: concurrent
 * requests (streamed and not, prompts of different lengths, joining at different times) get
 * the answers they get one at a time, greedy and seeded alike, in far fewer decoder runs; a
 * client that disconnects mid-batch takes out only its own row; a request's prompts of
 * different lengths are prefilled together; past the batch and its queue a request is answered
 * 429 with Retry-After (whole seconds from 1 to 60, estimated from the batch) and a message
 * naming the bound; bad settings are refused by variable name.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimePaths } from '../../model-runtime/src/contract/paths.ts';
import { batchLimitsFromEnv, BatchingSettingError, DEFAULT_BATCH_LIMITS, retryAfterSeconds } from '../../model-runtime/src/serve/generation-batching.ts';
import type { ServedModel } from '../../model-runtime/src/serve/served-model.ts';
import type { TextGenerationModel } from '../../model-runtime/src/serve/text-generation-model.ts';
import { trainTinyLanguageModel } from './fixtures/language-model.ts';
import { invoke, startLocalServer, type LocalServer } from './fixtures/local-server.ts';

let paths: RuntimePaths;
let server: LocalServer;

const MANY_TOKENS = 100_000;

/** A server whose model read `env` when it loaded. */
async function serverWith(env: Record<string, string>): Promise<LocalServer> {
  Object.assign(process.env, env);
  try {
    const started = await startLocalServer(paths.model);
    await started.server.ready;
    return started;
  } finally {
    for (const name of Object.keys(env)) delete process.env[name];
  }
}

beforeAll(async () => {
  paths = await trainTinyLanguageModel();
  server = await serverWith({ MODEL_RUNTIME_MAX_NEW_TOKENS: String(MANY_TOKENS) });
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (paths !== undefined) await rm(paths.root, { recursive: true, force: true });
});

const runs = (s: LocalServer): number => (s.server.model as ServedModel).runs!;
const scheduler = (s: LocalServer): TextGenerationModel['scheduler'] => (s.server.model as TextGenerationModel).scheduler;

const PROMPTS = ['h', 'hello', 'hello wor', 'world. hel', 'o', 'lo w', ' ', 'ld. hello'];
/** Half greedy, half seeded draws; lengths that make the windows slide for some. */
const parametersFor = (i: number): object => ({ max_new_tokens: 6 + (i % 3) * 7, ...(i % 2 === 0 ? {} : { do_sample: true, temperature: 2, top_k: 8, seed: 40 + i }) });

/** A streamed request's JSON lines as they come; `stopAfter` lines, then the client goes. */
async function streamLines(url: string, body: object, stopAfter = Infinity): Promise<{ status: number; lines: { token?: { text: string }; generated_text?: string | null; error?: string }[] }> {
  const abort = new AbortController();
  const response = await fetch(`${url}/invocations`, { method: 'POST', body: JSON.stringify({ ...body, stream: true }), headers: { 'content-type': 'application/json' }, signal: abort.signal });
  const lines: { token?: { text: string }; generated_text?: string | null }[] = [];
  if (response.status !== 200) return { status: response.status, lines: [JSON.parse(await response.text()) as { error?: string }] };
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for await (const chunk of response.body!) {
      buffered += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buffered.slice(0, end)) as (typeof lines)[number]);
        buffered = buffered.slice(end + 1);
        if (lines.length >= stopAfter) {
          abort.abort();
          return { status: response.status, lines };
        }
      }
    }
  } catch (error) {
    if (!abort.signal.aborted) throw error;
  }
  return { status: response.status, lines };
}

const generatedText = async (url: string, inputs: string, parameters: object): Promise<string> => {
  const answer = await invoke(url, JSON.stringify({ inputs, parameters }));
  expect(answer.status).toBe(200);
  return (answer.json() as [{ generated_text: string }])[0].generated_text;
};

describe('continuous batching over /invocations', () => {
  it('gives concurrent requests, streamed and not, joining at different times, the answers they get one at a time, in far fewer runs', async () => {
    const before = runs(server);
    const alone: string[] = [];
    for (const [i, prompt] of PROMPTS.entries()) alone.push(await generatedText(server.url, prompt, parametersFor(i)));
    const sequentialRuns = runs(server) - before;

    const start = runs(server);
    // Even ones streamed, odd ones not; the second half joins once the first stream has a few tokens.
    const answer = (i: number): Promise<string> =>
      i % 2 === 0
        ? streamLines(server.url, { inputs: PROMPTS[i], parameters: parametersFor(i) }).then(({ lines }) => lines.at(-1)!.generated_text!)
        : generatedText(server.url, PROMPTS[i]!, parametersFor(i));
    const first = PROMPTS.slice(0, 4).map((_, i) => answer(i));
    const joiner = streamLines(server.url, { inputs: 'hello', parameters: { max_new_tokens: 40 } }, 4);
    await joiner;
    const second = PROMPTS.slice(4).map((_, i) => answer(4 + i));
    const together = await Promise.all([...first, ...second]);
    const batchedRuns = runs(server) - start;

    expect(together).toEqual(alone);
    expect(new Set(alone).size).toBeGreaterThan(4);
    expect(batchedRuns).toBeLessThan(sequentialRuns * 0.75);
    expect(scheduler(server).running).toBe(0);
  });

  it('16 concurrent requests take under half the decoder runs of the same 16 in sequence', async () => {
    const body = (i: number): object => ({ inputs: PROMPTS[i % PROMPTS.length], parameters: { max_new_tokens: 8, do_sample: true, temperature: 2, top_k: 8, seed: i } });
    const before = runs(server);
    const alone: unknown[] = [];
    for (let i = 0; i < 16; i++) alone.push((await invoke(server.url, JSON.stringify(body(i)))).json());
    const sequential = runs(server) - before;
    const start = runs(server);
    const together = await Promise.all(Array.from({ length: 16 }, (_, i) => invoke(server.url, JSON.stringify(body(i))).then((r) => r.json())));
    const batched = runs(server) - start;
    expect(together).toEqual(alone);
    // One run per token (some answers end early, at <|endoftext|>).
    expect(sequential).toBeGreaterThan(16 * 4);
    // 16 prefills, then about one run per token for the whole batch (more when requests straggle in).
    expect(batched).toBeLessThan(sequential / 2);
  });

  it("a request's prompts of different lengths are prefilled together, each answered as alone", async () => {
    const parameters = { max_new_tokens: 6, do_sample: true, temperature: 2, top_k: 8, seed: 3 };
    const alone: string[] = [];
    for (const prompt of PROMPTS) alone.push(await generatedText(server.url, prompt, parameters));
    const start = runs(server);
    const answer = await invoke(server.url, JSON.stringify({ inputs: PROMPTS, parameters }));
    const batchedRuns = runs(server) - start;
    expect(answer.status).toBe(200);
    expect((answer.json() as [{ generated_text: string }][]).map(([a]) => a.generated_text)).toEqual(alone);
    // Two prefill runs (the one-character prompts, then the rest: 4 to 10), then at most five steps;
    // one prompt at a time would be eight prefills.
    expect(batchedRuns).toBeLessThanOrEqual(2 + 5);
  });

  it('a client that disconnects mid-batch takes out only its own row', async () => {
    const parameters = { max_new_tokens: 30, do_sample: true, temperature: 2, top_k: 8, seed: 5 };
    const alone = [await generatedText(server.url, 'hello', parameters), await generatedText(server.url, 'world', parameters)];
    const stays = [streamLines(server.url, { inputs: 'hello', parameters }), streamLines(server.url, { inputs: 'world', parameters })];
    const goes = await streamLines(server.url, { inputs: 'lo', parameters: { ...parameters, max_new_tokens: MANY_TOKENS } }, 3);
    expect(goes.lines).toHaveLength(3);
    const finished = await Promise.all(stays);
    expect(finished.map(({ lines }) => lines.at(-1)!.generated_text)).toEqual(alone);
    await expect.poll(() => server.log.some((entry) => /client disconnected after \d+ streamed pieces/.test(entry.error ?? ''))).toBe(true);
    await expect.poll(() => scheduler(server).running).toBe(0);
    const settled = runs(server);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs(server)).toBe(settled);
  });
});

describe('the bounds', () => {
  let small: LocalServer;
  beforeAll(async () => {
    small = await serverWith({ MODEL_RUNTIME_MAX_NEW_TOKENS: String(MANY_TOKENS), MODEL_RUNTIME_MAX_BATCH_SEQUENCES: '1', MODEL_RUNTIME_MAX_BATCH_QUEUE: '1' });
  }, 60_000);
  afterAll(async () => small?.close());

  it('queues past the sequences bound, and answers 429 with Retry-After past the queue', async () => {
    // A long stream holds the one row until its client goes.
    const abort = new AbortController();
    const running = await fetch(`${small.url}/invocations`, { method: 'POST', body: JSON.stringify({ inputs: 'hello', parameters: { max_new_tokens: MANY_TOKENS }, stream: true }), headers: { 'content-type': 'application/json' }, signal: abort.signal });
    expect(running.status).toBe(200);
    expect(scheduler(small).running).toBe(1);
    const queued = streamLines(small.url, { inputs: 'hello', parameters: { max_new_tokens: 5 } });
    await expect.poll(() => scheduler(small).queued).toBe(1);

    const refused = await fetch(`${small.url}/invocations`, { method: 'POST', body: JSON.stringify({ inputs: 'hello', parameters: { max_new_tokens: 5 } }), headers: { 'content-type': 'application/json' } });
    expect(refused.status).toBe(429);
    // The running row has about 100 000 tokens left: whole seconds, capped at a minute.
    const retryAfter = refused.headers.get('retry-after')!;
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    const body = (await refused.json()) as { type: string; message: string };
    expect(body.type).toBe('TooManyRequests');
    expect(body.message).toContain(`retry after ${retryAfter} s`);
    expect(body.message).toMatch(/1 sequences are generating \(at most 1\) and 1 requests wait \(at most 1\) \(MODEL_RUNTIME_MAX_BATCH_SEQUENCES, MODEL_RUNTIME_MAX_BATCH_QUEUE\)/);
    const streamedRefusal = await streamLines(small.url, { inputs: 'hello', parameters: { max_new_tokens: 5 } });
    expect(streamedRefusal.status).toBe(429);

    // The running stream's client goes; the queued request then runs to its end.
    abort.abort();
    const done = await queued;
    expect(done.status).toBe(200);
    expect(done.lines.at(-1)!.generated_text).toBe(await generatedText(server.url, 'hello', { max_new_tokens: 5 }));
  });

  it('refuses a request that alone reserves more than the tokens bound, as a 400 naming both', async () => {
    const tight = await serverWith({ MODEL_RUNTIME_MAX_BATCH_TOKENS: '10' });
    try {
      const answer = await invoke(tight.url, JSON.stringify({ inputs: 'hello', parameters: { max_new_tokens: 8 } }));
      expect(answer.status).toBe(400);
      expect(answer.text).toMatch(/the prompt \(5 tokens\) plus max_new_tokens \(8\) reserve 13 cached tokens, more than the server holds for all sequences together \(10\)/);
    } finally {
      await tight.close();
    }
  });

  it('tells a refused client whole seconds from 1 to 60: the floor before any step was timed', () => {
    expect([null, 0, 0.2, 1, 2.5, 59.1, 60, 1000, Infinity].map(retryAfterSeconds)).toEqual([1, 1, 1, 1, 3, 60, 60, 60, 60]);
  });

  it('reads its settings from the environment with documented defaults, and names a bad one', () => {
    expect(batchLimitsFromEnv({})).toEqual(DEFAULT_BATCH_LIMITS);
    expect(batchLimitsFromEnv({ MODEL_RUNTIME_MAX_BATCH_SEQUENCES: '4', MODEL_RUNTIME_MAX_BATCH_TOKENS: '2048', MODEL_RUNTIME_MAX_BATCH_QUEUE: '0', MODEL_RUNTIME_MAX_PREFILL_POSITIONS: '512' })).toEqual({ maxSequences: 4, maxTokens: 2048, maxQueued: 0, maxPrefillPositions: 512 });
    for (const [variable, value] of [['MODEL_RUNTIME_MAX_BATCH_SEQUENCES', '0'], ['MODEL_RUNTIME_MAX_BATCH_TOKENS', 'lots'], ['MODEL_RUNTIME_MAX_BATCH_QUEUE', '-1'], ['MODEL_RUNTIME_MAX_PREFILL_POSITIONS', '0']] as const) {
      expect(() => batchLimitsFromEnv({ [variable]: value })).toThrow(BatchingSettingError);
      expect(() => batchLimitsFromEnv({ [variable]: value })).toThrow(new RegExp(`${variable}="${value}" must be a whole number from`));
    }
  });
});
