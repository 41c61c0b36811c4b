/**
 * Streamed text generation: `"stream": true` over /invocations (TGI's token lines as JSON Lines,
 * or Server-Sent Events), and the runtime API's InvokeEndpointWithResponseStream through the real
 * AWS SDK (PayloadPart events in application/vnd.amazon.eventstream). The tokens arrive while the
 * generation is still going, add up to the non-streamed answer for the same seed, a failure midway
 * (the invocation timeout) reaches the client inside the stream, and a client that goes away
 * stops the decoder.
 */
import { InvokeEndpointWithResponseStreamCommand, ModelError, ModelStreamError, SageMakerRuntimeClient, type ResponseStream } from '@aws-sdk/client-sagemaker-runtime';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimePaths } from '../../model-runtime/src/contract/paths.ts';
import type { ServedModel } from '../../model-runtime/src/serve/served-model.ts';
import { trainTinyLanguageModel } from './fixtures/language-model.ts';
import { invoke, startLocalServer, type LocalServer } from './fixtures/local-server.ts';
import { tokenLines, type TokenLine } from './fixtures/tgi-line.ts';

let paths: RuntimePaths;
let server: LocalServer;
let sdk: SageMakerRuntimeClient;

/** Far more tokens than any test waits for: a stream that is not stopped runs for many seconds. */
const MANY_TOKENS = 100_000;

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.env.MODEL_RUNTIME_MAX_NEW_TOKENS = String(MANY_TOKENS);
  paths = await trainTinyLanguageModel();
  server = await startLocalServer(paths.model);
  await server.server.ready;
  sdk = new SageMakerRuntimeClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
}, 60_000);

afterAll(async () => {
  delete process.env.MODEL_RUNTIME_MAX_NEW_TOKENS;
  sdk?.destroy();
  await server?.close();
  if (paths !== undefined) await rm(paths.root, { recursive: true, force: true });
});


const steps = (s: LocalServer): number => (s.server.model as ServedModel).runs!;
const generated = async (body: object): Promise<string> => ((await invoke(server.url, JSON.stringify(body))).json() as [{ generated_text: string }])[0].generated_text;
const streamCommand = (body: object, accept?: string) => new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'local-lm', ContentType: 'application/json', Accept: accept, Body: JSON.stringify(body) });
const sampled = { do_sample: true, temperature: 2, top_k: 8, seed: 11, max_new_tokens: 40 };

/** The payload parts' bytes as one text (parts need not follow lines). */
async function payloadText(body: AsyncIterable<ResponseStream>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const event of body) if (event.PayloadPart?.Bytes !== undefined) text += decoder.decode(event.PayloadPart.Bytes, { stream: true });
  return text + decoder.decode();
}

describe('"stream": true over /invocations', () => {
  it('answers one TGI token line per token, the last with generated_text and details; the texts add up to the non-streamed answer', async () => {
    const response = await invoke(server.url, JSON.stringify({ inputs: 'hello', parameters: sampled, stream: true }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/jsonlines');
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(response.text.endsWith('\n')).toBe(true);
    // Logged once, when the stream had ended: every piece counted.
    const logged = server.log.at(-1);
    const lines = tokenLines(response.text);
    expect(logged).toMatchObject({ path: '/invocations', status: 200, rows: 1, chunks: lines.length });
    // A client adds up the lines that are not special (an eos token's line carries "<|endoftext|>").
    const text = lines.filter((line) => !line.token.special).map((line) => line.token.text).join('');
    expect(text).toBe(await generated({ inputs: 'hello', parameters: sampled }));
    expect(lines.map((line) => line.index)).toEqual(lines.map((_, i) => i + 1));
    for (const line of lines.slice(0, -1)) expect(line).toMatchObject({ generated_text: null, details: null });
    for (const line of lines) expect(line.token.logprob).toBeLessThanOrEqual(0);
    const last = lines.at(-1)!;
    expect(last.generated_text).toBe(text);
    expect(last.details).toEqual({ finish_reason: lines.length === 40 ? 'length' : 'eos_token', generated_tokens: lines.length, seed: 11 });
  });

  it('ends at a stop sequence with finish_reason stop_sequence, and puts the prompt in generated_text under return_full_text', async () => {
    const response = await invoke(server.url, JSON.stringify({ inputs: 'hel', parameters: { max_new_tokens: 30, stop: ['wor'], return_full_text: true }, stream: true }));
    const lines = tokenLines(response.text);
    const last = lines.at(-1)!;
    expect(last.details?.finish_reason).toBe('stop_sequence');
    expect(last.generated_text).toBe(`hel${lines.map((line) => line.token.text).join('')}`);
    expect(last.generated_text).toBe(await generated({ inputs: 'hel', parameters: { max_new_tokens: 30, stop: ['wor'], return_full_text: true } }));
  });

  it('frames the lines as Server-Sent Events when Accept asks for text/event-stream', async () => {
    const response = await invoke(server.url, JSON.stringify({ inputs: 'hello', parameters: { max_new_tokens: 5 }, stream: true }), { 'content-type': 'application/json', accept: 'text/event-stream' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = response.text.split('\n\n');
    expect(events.pop()).toBe('');
    expect(events).toHaveLength(5);
    for (const event of events) expect(event).toMatch(/^data: \{"index":\d+,"token":\{.*\}$/);
    const last = JSON.parse(events.at(-1)!.slice('data: '.length)) as TokenLine;
    expect(last.generated_text).toBe(await generated({ inputs: 'hello', parameters: { max_new_tokens: 5 } }));
  });

  it.each([
    [{ inputs: 'hello', stream: 'yes' }, /"stream" must be true or false, got "yes"/],
    [{ inputs: 'hello', stream: 1 }, /"stream" must be true or false, got 1/],
    [{ inputs: ['hello', 'world'], stream: true }, /"stream": true streams one prompt/],
    [{ inputs: 'hello world. hello world.', stream: true }, /the prompt is 25 tokens, more than the model's context length of 16 tokens/],
  ])('refuses %j with a 400 before anything is streamed', async (body, message) => {
    const response = await invoke(server.url, JSON.stringify(body));
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect((response.json() as { message: string }).message).toMatch(message);
  });

  it('refuses text/event-stream for an answer that is not streamed, and CSV for one that is', async () => {
    const sse = await invoke(server.url, JSON.stringify({ inputs: 'hello' }), { 'content-type': 'application/json', accept: 'text/event-stream' });
    expect(sse.status).toBe(406);
    expect((sse.json() as { message: string }).message).toMatch(/add "stream": true/);
    const csv = await invoke(server.url, JSON.stringify({ inputs: 'hello', stream: true }), { 'content-type': 'application/json', accept: 'text/csv' });
    expect(csv.status).toBe(406);
  });
});

describe('InvokeEndpointWithResponseStream through the AWS SDK', () => {
  it('streams PayloadPart events that arrive while the generation is still going, adding up to the non-streamed answer', async () => {
    const before = steps(server);
    const response = await sdk.send(streamCommand({ inputs: 'hello', parameters: { max_new_tokens: 2000 }, stream: true }));
    expect(response.ContentType).toBe('application/jsonlines');
    expect(response.InvokedProductionVariant).toBe('AllTraffic');
    const decoder = new TextDecoder();
    let text = '';
    let stepsAtFirst: number | undefined;
    let parts = 0;
    for await (const event of response.Body!) {
      expect(event.ModelStreamError).toBeUndefined();
      if (event.PayloadPart?.Bytes === undefined) continue;
      parts++;
      stepsAtFirst ??= steps(server);
      text += decoder.decode(event.PayloadPart.Bytes, { stream: true });
    }
    const stepsAtEnd = steps(server);
    const lines = tokenLines(text);
    expect(parts).toBe(lines.length);
    expect(lines.length).toBeGreaterThan(100);
    // The first part came while most of the generation's decoder steps were still to run.
    expect(stepsAtFirst! - before).toBeLessThan((stepsAtEnd - before) / 2);
    expect(server.log.at(-1)).toMatchObject({ path: '/endpoints/local-lm/invocations-response-stream', status: 200, chunks: lines.length });
    expect(lines.at(-1)!.generated_text).toBe(lines.map((line) => line.token.text).join(''));
    expect(lines.at(-1)!.generated_text).toBe(await generated({ inputs: 'hello', parameters: { max_new_tokens: 2000 } }));
  });

  it('relays an answer that is not streamed as one part, with its content type', async () => {
    const response = await sdk.send(streamCommand({ inputs: 'hello', parameters: { max_new_tokens: 6 } }, 'application/json'));
    expect(response.ContentType).toBe('application/json');
    expect(JSON.parse(await payloadText(response.Body!))).toEqual([{ generated_text: await generated({ inputs: 'hello', parameters: { max_new_tokens: 6 } }) }]);
  });

  it('answers a bad request before the stream as ModelError with the message', async () => {
    const refused = sdk.send(streamCommand({ inputs: 'hello', stream: 'yes' }));
    await expect(refused).rejects.toBeInstanceOf(ModelError);
    await expect(refused).rejects.toThrow(/stream\W+ must be true or false/);
  });

  it('stops the generation when the client goes away', async () => {
    const abort = new AbortController();
    const response = await sdk.send(streamCommand({ inputs: 'hello', parameters: { max_new_tokens: MANY_TOKENS }, stream: true }), { abortSignal: abort.signal });
    const before = steps(server);
    let parts = 0;
    await expect((async () => {
      for await (const event of response.Body!) {
        if (event.PayloadPart !== undefined && ++parts === 3) abort.abort();
      }
    })()).rejects.toThrow();
    await sleep(200);
    const settled = steps(server);
    await sleep(400);
    expect(steps(server)).toBe(settled);
    expect(settled - before).toBeLessThan(MANY_TOKENS / 10);
    await expect.poll(() => server.log.at(-1)?.error).toMatch(/client disconnected after \d+ streamed pieces/);
  });
});

describe('a stream that fails midway (the invocation timeout)', () => {
  let slow: LocalServer;
  beforeAll(async () => {
    slow = await startLocalServer(paths.model, { timeoutMs: 400 });
    await slow.server.ready;
  });
  afterAll(async () => slow?.close());

  it('reaches the SDK as a ModelStreamError after the first parts, and the decoder stops', async () => {
    const client = new SageMakerRuntimeClient({ endpoint: slow.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    try {
      const response = await client.send(streamCommand({ inputs: 'hello', parameters: { max_new_tokens: MANY_TOKENS }, stream: true }));
      let parts = 0;
      const failure = await (async () => {
        try {
          for await (const event of response.Body!) if (event.PayloadPart !== undefined) parts++;
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(parts).toBeGreaterThan(0);
      expect(failure).toBeInstanceOf(ModelStreamError);
      expect(failure).toMatchObject({ ErrorCode: 'ModelInvocationTimeExceeded', message: expect.stringMatching(/longer than 0.4 s/) });
      const settled = steps(slow);
      await sleep(300);
      expect(steps(slow)).toBe(settled);
    } finally {
      client.destroy();
    }
  });

  it('ends a /invocations stream with an error line, the status being already sent', async () => {
    const response = await invoke(slow.url, JSON.stringify({ inputs: 'hello', parameters: { max_new_tokens: MANY_TOKENS }, stream: true }));
    expect(response.status).toBe(200);
    const lines = response.text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.at(-1)).toEqual({ error: expect.stringMatching(/prediction took longer than 0.4 s/), error_type: 'ModelTimeout' });
    expect(slow.log.at(-1)).toMatchObject({ status: 200, error: expect.stringMatching(/longer than 0.4 s/) });
  });
});
