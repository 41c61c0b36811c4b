/**
 * `modelstack serve model.tar.gz | head -1`: the reader of stdout leaves while the server runs.
 * The next log line meets a closed pipe; the server must then stop as it does on SIGTERM (stop
 * accepting, finish the requests in flight, release the model, remove what it extracted) and
 * exit 141, as SIGPIPE would end it, without an EPIPE stack trace.
 */
import http from 'node:http';
import { mkdtemp, readdir } from 'node:fs/promises';
import path from 'node:path';
import { create as createTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureArtifacts, type FixtureArtifacts } from './fixtures/local-server.ts';
import { regressionTruth, writeRegressionArtifact } from './fixtures/onnx-models.ts';
import { MODEL_RUNTIME_BIN, runCli, type CliProcess } from './fixtures/spawn-cli.ts';

let artifacts: FixtureArtifacts;
let archive: string;
beforeAll(async () => {
  artifacts = await fixtureArtifacts();
  archive = path.join(artifacts.root, 'model.tar.gz');
  await createTar({ gzip: true, file: archive, cwd: artifacts.regression }, await readdir(artifacts.regression));
});
afterAll(async () => {
  await artifacts?.remove();
});

/** A request whose body is only half sent, so it is in flight until `finish()`. */
function startRequest(port: number): { finish: () => void; answer: Promise<{ status: number; text: string }> } {
  const body = JSON.stringify({ instances: [[1, 2], [3, 4]] });
  let request!: http.ClientRequest;
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    request = http.request({ host: '127.0.0.1', port, path: '/invocations', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: response.statusCode!, text }));
    });
    request.on('error', reject);
    request.write(body.slice(0, 10));
  });
  answer.catch(() => undefined); // a server that crashes fails the test where the answer is awaited, not as an unhandled rejection
  return { finish: () => request.end(body.slice(10)), answer };
}

/**
 * Resolves once /ping on `port` goes unanswered: the server has stopped accepting. (Under
 * node:cluster a connection the primary accepted just as the last worker closed waits unserved
 * until the process exits, hence the timeout.)
 */
async function refused(port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const answered = await fetch(`http://127.0.0.1:${port}/ping`, { signal: AbortSignal.timeout(500) }).then(() => true, () => false);
    if (!answered) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`port ${port} still accepts connections`);
}

async function stderrEnded(server: CliProcess): Promise<void> {
  const stderr = server.child.stderr!;
  if (!stderr.readableEnded) await new Promise((resolve) => stderr.once('end', resolve));
}

/**
 * The reader leaves once the model is loaded; one request is in flight. The next request's log
 * line hits the closed pipe: the server stops accepting, the in-flight request still gets its
 * answer, and the process exits 141 with no stack trace.
 */
async function expectStopOnClosedStdout(server: CliProcess, readyMessage: string): Promise<void> {
  try {
    const ready = await server.waitForLog((entry) => entry.msg === readyMessage);
    await server.waitForLog((entry) => entry.msg === 'model loaded');
    const port = ready.port as number;
    server.child.stdout!.destroy(); // `| head` has read what it wanted and exits
    const inFlight = startRequest(port);
    await new Promise((resolve) => setTimeout(resolve, 100)); // let it reach the server before the pipe error
    const logged = await fetch(`http://127.0.0.1:${port}/invocations`, { method: 'POST', body: '1,2\n', headers: { 'content-type': 'text/csv' } });
    expect(logged.status).toBe(200); // its log line is the write that finds stdout closed
    await refused(port);
    inFlight.finish();
    const { status, text } = await inFlight.answer;
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual({ predictions: [regressionTruth(1, 2), regressionTruth(3, 4)] });
    expect(await server.exited, server.stderr()).toBe(141);
    await stderrEnded(server); // 'exit' can come before the last of stderr
    expect(server.stderr()).not.toMatch(/EPIPE|Unhandled 'error' event|\n\s+at /);
    expect(server.stderr()).toMatch(/"msg":"draining".*"signal":"stdout closed"/) // on stderr: stdout is gone;
  } finally {
    server.child.kill('SIGKILL');
  }
}

describe('a closed stdout stops the server as SIGTERM does', () => {
  it('`modelstack serve model.tar.gz`: drains, exits 141 and removes the extracted model', async () => {
    const tmp = await mkdtemp(path.join(artifacts.root, 'tmp-'));
    const server = runCli(['serve', archive, '--port', '0'], { TMPDIR: tmp });
    await expectStopOnClosedStdout(server, 'listening');
    expect((await readdir(tmp)).filter((name) => name.startsWith('modelstack-'))).toEqual([]);
  });

  it('`modelstack serve` with SAGEMAKER_MODEL_SERVER_WORKERS=2: a worker exiting 141 stops them all, exit 141', async () => {
    const tmp = await mkdtemp(path.join(artifacts.root, 'tmp-'));
    const server = runCli(['serve', archive, '--port', '0'], { TMPDIR: tmp, SAGEMAKER_MODEL_SERVER_WORKERS: '2' });
    await expectStopOnClosedStdout(server, 'all workers ready');
    expect(server.stderr()).not.toMatch(/worker died|before its model was ready/);
    expect((await readdir(tmp)).filter((name) => name.startsWith('modelstack-'))).toEqual([]);
  });

  it('`model-runtime serve` (the container entry): drains and exits 141', async () => {
    const root = path.join(artifacts.root, 'opt-ml');
    await writeRegressionArtifact(path.join(root, 'model'));
    const server = runCli(['serve'], { MODEL_RUNTIME_ROOT: root, SAGEMAKER_BIND_TO_PORT: '0', SAGEMAKER_MODEL_SERVER_WORKERS: '1' }, MODEL_RUNTIME_BIN);
    await expectStopOnClosedStdout(server, 'listening');
  });
});
