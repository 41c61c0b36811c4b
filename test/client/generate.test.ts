/**
 * The client's generate() and generateStream() against a local server with a small language
 * model, over the real AWS SDK; the part-boundary buffering of streamed lines; and
 * `modelstack invoke --stream` printing the tokens.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointClient, EndpointError, linesOf, tokenText } from '../../lib/client/index.ts';
import type { RuntimePaths } from '../../model-runtime/src/contract/paths.ts';
import { trainTinyLanguageModel } from '../serve/fixtures/language-model.ts';
import { startLocalServer, type LocalServer } from '../serve/fixtures/local-server.ts';
import { REPO_ROOT, runCli } from '../serve/fixtures/spawn-cli.ts';

async function* parts(...texts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const text of texts) yield typeof text === 'string' ? new TextEncoder().encode(text) : text;
}
const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
};

describe('streamed lines across payload parts', () => {
  it('joins a line split over parts, splits parts holding several lines, and keeps a character split between parts whole', async () => {
    const bytes = new TextEncoder().encode('café\n');
    const [a, b] = [bytes.subarray(0, 4), bytes.subarray(4)]; // 'é' is two bytes, cut between them
    expect(await collect(linesOf(parts('{"a":', '1}\n{"b":2}\n{"c"', ':3}\n', a, b, 'last')))).toEqual(['{"a":1}', '{"b":2}', '{"c":3}', 'café', 'last']);
    expect(await collect(linesOf(parts('data: x\r\n\r\n')))).toEqual(['data: x', '']);
  });

  it('reads a token line as JSON Lines or SSE, skips blank and comment lines, and throws the stream error line', () => {
    const line = '{"index":1,"token":{"id":3,"text":"lo","logprob":-0.1,"special":false},"generated_text":null,"details":null}';
    expect(tokenText(line, 'e')).toBe('lo');
    expect(tokenText(`data: ${line}`, 'e')).toBe('lo');
    expect(tokenText('', 'e')).toBeUndefined();
    expect(tokenText(': keep-alive', 'e')).toBeUndefined();
    expect(() => tokenText('{"error":"prediction took longer than 1 s","error_type":"ModelTimeout"}', 'e')).toThrow(/the model's stream failed: prediction took longer than 1 s \(ModelTimeout\)/);
    expect(() => tokenText('{"predictions":[1]}', 'e')).toThrow(EndpointError);
  });

  it("reads a chat model's chunks as their delta's content, and [DONE] as no line", () => {
    const chunk = (choices: readonly object[]): string => `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices })}`;
    expect(tokenText(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]), 'e')).toBe('');
    expect(tokenText(chunk([{ index: 0, delta: { content: ' world' }, finish_reason: null }]), 'e')).toBe(' world');
    expect(tokenText(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]), 'e')).toBe('');
    expect(tokenText(chunk([]), 'e')).toBe('');
    expect(tokenText('data: [DONE]', 'e')).toBeUndefined();
  });
});

describe('generate() and generateStream() against a language model', () => {
  let paths: RuntimePaths;
  let server: LocalServer;
  let slow: LocalServer;
  let client: EndpointClient;

  beforeAll(async () => {
    process.env.MODEL_RUNTIME_MAX_NEW_TOKENS = '100000';
    paths = await trainTinyLanguageModel();
    server = await startLocalServer(paths.model);
    slow = await startLocalServer(paths.model, { timeoutMs: 300 });
    await Promise.all([server.server.ready, slow.server.ready]);
    client = new EndpointClient({ endpointName: 'lm', url: server.url });
  }, 60_000);

  afterAll(async () => {
    delete process.env.MODEL_RUNTIME_MAX_NEW_TOKENS;
    client?.destroy();
    await server?.close();
    await slow?.close();
    if (paths !== undefined) await rm(paths.root, { recursive: true, force: true });
  });

  it('streams text pieces that add up to what generate() answers for the same seed', async () => {
    const parameters = { do_sample: true, temperature: 2, top_k: 8, seed: 5, max_new_tokens: 30 };
    const whole = await client.generate('hello', parameters);
    expect(whole.length).toBeGreaterThan(0);
    const pieces = await collect(client.generateStream('hello', parameters));
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(whole);
    expect(await client.generate('hello', { ...parameters, return_full_text: true })).toBe(`hello${whole}`);
  });

  it('throws a failure inside the stream as an EndpointError of kind model', async () => {
    const slowClient = new EndpointClient({ endpointName: 'lm', url: slow.url });
    try {
      const pieces: string[] = [];
      const failure = await (async () => {
        try {
          for await (const piece of slowClient.generateStream('hello', { max_new_tokens: 100_000 })) pieces.push(piece);
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(pieces.length).toBeGreaterThan(0);
      expect(failure).toBeInstanceOf(EndpointError);
      expect(failure).toMatchObject({ kind: 'model', message: expect.stringMatching(/ModelInvocationTimeExceeded.*longer than 0.3 s/) });
    } finally {
      slowClient.destroy();
    }
  });

  it('stops the generation on the endpoint when the loop is left early', async () => {
    const steps = (): number => server.server.model!.runs!;
    let count = 0;
    for await (const _piece of client.generateStream('hello', { max_new_tokens: 100_000 })) if (++count === 5) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const settled = steps();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(steps()).toBe(settled);
  });

  it('surfaces a bad parameter as an EndpointError of kind model with the 400', async () => {
    const refused = client.generate('hello', { max_new_tokens: 0 });
    await expect(refused).rejects.toMatchObject({ kind: 'model', statusCode: 400 });
  });

  it('`modelstack invoke --stream` prints the text of the tokens', async () => {
    const expected = await client.generate('hello', { max_new_tokens: 12 });
    const run = runCli(['invoke', 'lm', '--local', server.url, '--stream', '--body', JSON.stringify({ inputs: 'hello', parameters: { max_new_tokens: 12 } })]);
    expect(await run.exited, run.stderr()).toBe(0);
    expect(run.stdout()).toBe(`${expected}\n`);
  });

  it('runs the README example as pasted', async () => {
    const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('<!-- README example: generate -->')));
    expect(block, 'README.md has no generate example').not.toBeNull();
    // Inside the repository, so that `import ... from 'modelstack/client'` resolves to this package.
    const folder = path.join(REPO_ROOT, '.modelstack', `readme-generate-${process.pid}`);
    await mkdir(folder, { recursive: true });
    try {
      await writeFile(path.join(folder, 'example.ts'), block![1]!.replaceAll('http://127.0.0.1:8080', server.url));
      const tsx = path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [tsx, path.join(folder, 'example.ts')], { cwd: REPO_ROOT });
      expect(stderr).toBe('');
      expect(stdout).toBe(`${await client.generate('hello', { max_new_tokens: 12 })}true\n`);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
