/**
 * MODEL_RUNTIME_EXPECTED_DIGEST end to end, through the container's entry (`model-runtime
 * serve`, as SageMaker starts it): an archive replaced whole, with a manifest that verifies
 * against its own files, is refused when the registered digest is set.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE, parseManifest } from '../../model-runtime/src/artifact/digest.ts';
import { loadArtifact } from '../../model-runtime/src/artifact/load.ts';
import { regressionTruth, writeClassifierArtifact, writeRegressionArtifact } from './fixtures/onnx-models.ts';
import { fixtureArtifacts, type FixtureArtifacts } from './fixtures/local-server.ts';
import { MODEL_RUNTIME_BIN, runCli } from './fixtures/spawn-cli.ts';

let artifacts: FixtureArtifacts;

beforeAll(async () => {
  artifacts = await fixtureArtifacts();
});

afterAll(async () => {
  await artifacts?.remove();
});

async function manifestDigest(modelDir: string): Promise<string> {
  return parseManifest(await readFile(path.join(modelDir, MANIFEST_FILE), 'utf8')).digest;
}

/** /opt/ml as SageMaker lays it out, holding the regression model; returns the root and the digest it was sealed with. */
async function sealedContainerRoot(name: string): Promise<{ root: string; sealed: string }> {
  const root = path.join(artifacts.root, name);
  await writeRegressionArtifact(path.join(root, 'model'));
  return { root, sealed: await manifestDigest(path.join(root, 'model')) };
}

function serveContainer(root: string, env: NodeJS.ProcessEnv) {
  return runCli(['serve'], { MODEL_RUNTIME_ROOT: root, SAGEMAKER_BIND_TO_PORT: '0', SAGEMAKER_MODEL_SERVER_WORKERS: '1', ...env }, MODEL_RUNTIME_BIN);
}

describe('MODEL_RUNTIME_EXPECTED_DIGEST', () => {
  it('refuses an archive replaced whole with a self-consistent manifest: /ping never 200, both digests logged, exit non-zero', async () => {
    const { root, sealed } = await sealedContainerRoot('replaced');
    const modelDir = path.join(root, 'model');
    // The attacker's archive: other files and a new manifest that matches them.
    await rm(modelDir, { recursive: true });
    await writeClassifierArtifact(modelDir);
    const replaced = await manifestDigest(modelDir);
    await expect(loadArtifact(modelDir)).resolves.toBeDefined(); // it verifies against its own manifest

    const container = serveContainer(root, { MODEL_RUNTIME_EXPECTED_DIGEST: sealed });
    const pings: number[] = [];
    try {
      const listening = await container.waitForLog((entry) => entry.msg === 'listening');
      const url = `http://127.0.0.1:${listening.port as number}/ping`;
      const failed = container.waitForLog((entry) => entry.msg === 'model failed verification');
      // Ping until the process is gone: not one 200.
      const exited = container.exited;
      let gone = false;
      void exited.then(() => (gone = true));
      while (!gone) {
        const status = await fetch(url).then((response) => response.status, () => null);
        if (status !== null) pings.push(status);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const failure = await failed;
      expect(failure.reason).toContain(sealed);
      expect(failure.reason).toContain(replaced);
      expect(failure.reason).toContain('MODEL_RUNTIME_EXPECTED_DIGEST');
      expect(await exited).not.toBe(0);
      expect(pings).not.toContain(200);
    } finally {
      container.child.kill('SIGKILL');
    }
  });

  it('serves the sealed archive when the digest matches (any case), without the unset warning', async () => {
    const { root, sealed } = await sealedContainerRoot('sealed');
    const container = serveContainer(root, { MODEL_RUNTIME_EXPECTED_DIGEST: sealed.toUpperCase() });
    try {
      const listening = await container.waitForLog((entry) => entry.msg === 'listening');
      const loaded = await container.waitForLog((entry) => entry.msg === 'model loaded');
      expect(loaded.digest).toBe(sealed);
      const url = `http://127.0.0.1:${listening.port as number}`;
      expect((await fetch(`${url}/ping`)).status).toBe(200);
      const response = await fetch(`${url}/invocations`, { method: 'POST', body: '2,1\n', headers: { 'content-type': 'text/csv' } });
      expect(await response.text()).toBe(`${regressionTruth(2, 1)}\n`);
      expect(container.stdout()).not.toContain('is not set');
      container.child.kill('SIGTERM');
      expect(await container.exited).toBe(0);
    } finally {
      container.child.kill('SIGKILL');
    }
  });

  it('unset: serves as before, with exactly one warning line however many workers', async () => {
    const { root } = await sealedContainerRoot('unset');
    const container = serveContainer(root, { MODEL_RUNTIME_EXPECTED_DIGEST: '', SAGEMAKER_MODEL_SERVER_WORKERS: '2' });
    try {
      const ready = await container.waitForLog((entry) => entry.msg === 'all workers ready');
      expect((await fetch(`http://127.0.0.1:${ready.port as number}/ping`)).status).toBe(200);
      const warnings = container.stdout().split('\n').filter((line) => line.includes('MODEL_RUNTIME_EXPECTED_DIGEST'));
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 'warn' });
      container.child.kill('SIGTERM');
      expect(await container.exited).toBe(0);
    } finally {
      container.child.kill('SIGKILL');
    }
  });

  it('refuses to start on a value that is not a digest, naming the variable', async () => {
    const { root } = await sealedContainerRoot('malformed');
    const container = serveContainer(root, { MODEL_RUNTIME_EXPECTED_DIGEST: 'sha256:abc' });
    const failure = await container.waitForLog((entry) => entry.msg === 'invalid serving configuration');
    expect(failure.reason).toMatch(/MODEL_RUNTIME_EXPECTED_DIGEST is "sha256:abc"; expected .*64 hex characters/);
    expect(await container.exited).not.toBe(0);
  });
});
