import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { regressionTruth, writeRegressionArtifact } from './fixtures/onnx-models.ts';
import { fixtureArtifacts, type FixtureArtifacts } from './fixtures/local-server.ts';
import { MODEL_RUNTIME_BIN, runCli } from './fixtures/spawn-cli.ts';

let artifacts: FixtureArtifacts;

beforeAll(async () => {
  artifacts = await fixtureArtifacts();
});

afterAll(async () => {
  await artifacts?.remove();
});

describe('model-runtime serve, as SageMaker starts the container', () => {
  it('serves MODEL_RUNTIME_ROOT/model on SAGEMAKER_BIND_TO_PORT and exits 0 on SIGTERM', async () => {
    const root = path.join(artifacts.root, 'opt-ml');
    await writeRegressionArtifact(path.join(root, 'model'));
    const container = runCli(['serve'], { MODEL_RUNTIME_ROOT: root, SAGEMAKER_BIND_TO_PORT: '0', SAGEMAKER_MODEL_SERVER_WORKERS: '1' }, MODEL_RUNTIME_BIN);
    try {
      const listening = await container.waitForLog((entry) => entry.msg === 'listening');
      expect(listening.modelDir).toBe(path.join(root, 'model'));
      await container.waitForLog((entry) => entry.msg === 'model loaded');
      const url = `http://127.0.0.1:${listening.port as number}`;
      expect((await fetch(`${url}/ping`)).status).toBe(200);
      const response = await fetch(`${url}/invocations`, { method: 'POST', body: '2,1\n', headers: { 'content-type': 'text/csv' } });
      expect(await response.text()).toBe(`${regressionTruth(2, 1)}\n`);
      container.child.kill('SIGTERM');
      expect(await container.exited).toBe(0);
    } finally {
      container.child.kill('SIGKILL');
    }
  });
});

describe('modelstack serve as a process', () => {
  it('logs why and exits non-zero when the manifest does not verify', async () => {
    const tampered = path.join(artifacts.root, 'tampered');
    await writeRegressionArtifact(tampered);
    await writeFile(path.join(tampered, 'model.onnx'), 'not the trained model');
    const cli = runCli(['serve', tampered, '--port', '0']);
    const failure = await cli.waitForLog((entry) => entry.msg === 'model failed verification');
    expect(failure.reason).toMatch(/model\.onnx/);
    expect(await cli.exited).not.toBe(0);
  });

  it('serves from SAGEMAKER_MODEL_SERVER_WORKERS workers and drains an in-flight request on SIGTERM, then exits 0', async () => {
    const cli = runCli(['serve', artifacts.regression, '--port', '0'], { SAGEMAKER_MODEL_SERVER_WORKERS: '2' });
    try {
      const ready = await cli.waitForLog((entry) => entry.msg === 'all workers ready');
      const port = ready.port as number;
      const loaded = await cli.waitForLog((entry) => entry.msg === 'model loaded');
      expect(loaded.digest).toMatch(/^[0-9a-f]{64}$/);

      // Start a request and send only half its body, so it is in flight when SIGTERM arrives.
      const body = JSON.stringify({ instances: [[1, 2], [3, 4]] });
      const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const request = http.request({ host: '127.0.0.1', port, path: '/invocations', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: response.statusCode!, text }));
        });
        request.on('error', reject);
        request.write(body.slice(0, 10));
        setTimeout(() => {
          cli.child.kill('SIGTERM');
          void cli.waitForLog((entry) => entry.msg === 'draining').then(() => setTimeout(() => request.end(body.slice(10)), 200));
        }, 300);
      });

      const { status, text } = await answer;
      expect(status).toBe(200);
      expect(JSON.parse(text)).toEqual({ predictions: [regressionTruth(1, 2), regressionTruth(3, 4)] });
      expect(await cli.exited).toBe(0);
      await expect(fetch(`http://127.0.0.1:${port}/ping`)).rejects.toThrow();
    } finally {
      cli.child.kill('SIGKILL');
    }
  });
});

describe('a serving worker that dies', () => {
  it('is replaced by one that listens only once its model is loaded, while the other keeps answering', async () => {
    const cli = runCli(['serve', artifacts.regression, '--port', '0'], { SAGEMAKER_MODEL_SERVER_WORKERS: '2' });
    try {
      const ready = await cli.waitForLog((entry) => entry.msg === 'all workers ready');
      const url = `http://127.0.0.1:${ready.port as number}`;
      const first = await cli.waitForLog((entry) => entry.msg === 'model loaded');
      const original = cli.stdout().split('\n').filter((line) => line.includes('"msg":"model loaded"')).map((line) => (JSON.parse(line) as { pid: number }).pid);
      expect(original).toHaveLength(2);
      const victim = first.pid as number;
      process.kill(victim, 'SIGKILL');
      await cli.waitForLog((entry) => entry.msg === 'worker died; starting another' && entry.pid === victim);

      // Requests while the replacement starts: every one is answered by a loaded worker.
      const statuses: number[] = [];
      const replaced = cli.waitForLog((entry) => entry.msg === 'listening' && typeof entry.pid === 'number' && !original.includes(entry.pid), 30_000);
      let done = false;
      void replaced.finally(() => (done = true));
      while (!done) {
        const response = await fetch(`${url}/invocations`, { method: 'POST', body: '2,1\n', headers: { 'content-type': 'text/csv' } });
        statuses.push(response.status);
        await response.text();
      }
      const listening = await replaced;
      const loaded = await cli.waitForLog((entry) => entry.msg === 'model loaded' && entry.pid === listening.pid);
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      // The replacement loaded (and verified) its model before it took connections: its lines come in that order.
      const ownLines = cli.stdout().split('\n').filter((line) => line.startsWith('{') && line.includes(`"pid":${listening.pid as number},`));
      const messages = ownLines.map((line) => (JSON.parse(line) as { msg: string }).msg);
      expect(messages.indexOf('model loaded')).toBeLessThan(messages.indexOf('listening'));
      expect(loaded.digest).toBe(first.digest);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });
});
