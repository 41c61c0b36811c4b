/**
 * A streamed generation whose client stops reading: the socket fills, 'drain' never comes, and
 * after the stall bound (MODEL_RUNTIME_STREAM_STALL_SECONDS; here the server option, half a
 * second) the server stops the generation (no further decoder step), logs why, and closes the
 * connection; other clients are served throughout and afterwards. The client is a raw socket
 * that reads the status line and then pauses: the kernel's buffers fill with token lines and the
 * server's writes start returning false.
 */
import net from 'node:net';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimePaths } from '../../model-runtime/src/contract/paths.ts';
import { serveConfigFromEnv } from '../../model-runtime/src/serve/serve-config.ts';
import type { ServedModel } from '../../model-runtime/src/serve/served-model.ts';
import { requestBytes } from './fixtures/raw-http.ts';
import { trainTinyLanguageModel } from './fixtures/language-model.ts';
import { invoke, startLocalServer, type LocalServer } from './fixtures/local-server.ts';

/** Far more tokens than the kernel's buffers hold as token lines: the stream cannot end before it stalls. */
const MANY_TOKENS = 1_000_000;
const STALL_MS = 500;

let paths: RuntimePaths;
let server: LocalServer;

beforeAll(async () => {
  process.env.MODEL_RUNTIME_MAX_NEW_TOKENS = String(MANY_TOKENS);
  paths = await trainTinyLanguageModel();
  server = await startLocalServer(paths.model, { streamStallMs: STALL_MS, timeoutMs: 600_000 });
  await server.server.ready;
}, 60_000);

afterAll(async () => {
  delete process.env.MODEL_RUNTIME_MAX_NEW_TOKENS;
  await server?.close();
  if (paths !== undefined) await rm(paths.root, { recursive: true, force: true });
});

const steps = (): number => (server.server.model as ServedModel).runs!;

/** Sends a streamed generation request on a raw socket, waits for the first bytes of the answer, then stops reading. */
async function stoppedReader(path: string): Promise<{ socket: net.Socket; firstBytes: string; closed: Promise<void> }> {
  const { port } = new URL(server.url);
  const socket = net.connect({ port: Number(port), host: '127.0.0.1' });
  const body = JSON.stringify({ inputs: 'hello', parameters: { max_new_tokens: MANY_TOKENS }, stream: true });
  socket.write(requestBytes('POST', path, [['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))]], body));
  const firstBytes = await new Promise<string>((resolve, reject) => {
    socket.once('data', (data: Buffer) => {
      socket.pause();
      resolve(data.toString('latin1'));
    });
    socket.once('error', reject);
  });
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => resolve());
    socket.on('error', () => undefined); // a reset is a close too
  });
  return { socket, firstBytes, closed };
}

describe('a streamed generation whose client stops reading', () => {
  it.each(['/invocations', '/endpoints/local-lm/invocations-response-stream'])('on %s: is stopped after the stall bound, logged, and its connection closed', async (path) => {
    const logged = server.log.length;
    const { socket, firstBytes, closed } = await stoppedReader(path);
    expect(firstBytes).toMatch(/^HTTP\/1\.1 200 /);
    await expect
      .poll(() => server.log.slice(logged).find((line) => line.path === path), { timeout: 60_000, interval: 100 })
      .toMatchObject({ status: 200, error: expect.stringMatching(/^client stopped reading: the connection took nothing for 0\.5 s \(MODEL_RUNTIME_STREAM_STALL_SECONDS\) after \d+ streamed pieces/) });
    // The generation took no further step: its decoder is free.
    const settled = steps();
    await sleep(300);
    expect(steps()).toBe(settled);
    const pieces = Number(/after (\d+) streamed pieces/.exec(server.log.slice(logged).find((line) => line.path === path)!.error!)![1]);
    expect(pieces).toBeLessThan(MANY_TOKENS);
    // The server closed the connection: reading what the buffers held leads to its end.
    socket.resume();
    await closed;
    // Other clients are served afterwards.
    expect((await fetch(`${server.url}/ping`)).status).toBe(200);
    const answer = await invoke(server.url, JSON.stringify({ inputs: 'hello', parameters: { max_new_tokens: 5 }, stream: true }));
    expect(answer.status).toBe(200);
    expect(answer.text.trimEnd().split('\n')).toHaveLength(5);
  }, 90_000);
});

describe(`the stall bound's setting`, () => {
  it('is MODEL_RUNTIME_STREAM_STALL_SECONDS, 30 s by default, and a bad value names the variable and its range', () => {
    expect(serveConfigFromEnv({}).streamStallMs).toBe(30_000);
    expect(serveConfigFromEnv({ MODEL_RUNTIME_STREAM_STALL_SECONDS: '5' }).streamStallMs).toBe(5000);
    expect(() => serveConfigFromEnv({ MODEL_RUNTIME_STREAM_STALL_SECONDS: '0' })).toThrow("MODEL_RUNTIME_STREAM_STALL_SECONDS is '0'; expected a whole number from 1 to 3600");
  });
});
