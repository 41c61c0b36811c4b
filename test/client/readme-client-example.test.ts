/**
 * The README's client example, read from README.md and run as a user pastes it (importing
 * `modelstack/client` by the package's name), against a local server serving y = 2x + 1 with the
 * demo model's one feature, x. Only the port changes.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveArtifact } from '../../model-runtime/src/artifact/save.ts';
import { denseNetworkOnnx, describeModel } from '../serve/fixtures/onnx-models.ts';
import { startLocalServer, type LocalServer } from '../serve/fixtures/local-server.ts';
import { REPO_ROOT } from '../serve/fixtures/spawn-cli.ts';

const MARKER = '<!-- README example: client -->';
// Inside the repository, so that `import ... from 'modelstack/client'` resolves to this package.
const folder = path.join(REPO_ROOT, '.modelstack', `readme-client-${process.pid}`);
let server: LocalServer;

beforeAll(async () => {
  const model = path.join(folder, 'model');
  await saveArtifact(model, { 'model.onnx': denseNetworkOnnx([{ weights: [[2]], bias: [1] }], false) }, describeModel({
    algorithm: 'linear-regression', task: 'regression', features: ['x'], targets: ['y'], labels: null,
  }));
  server = await startLocalServer(model);
  await server.server.ready;
});

afterAll(async () => {
  await server?.close();
  await rm(folder, { recursive: true, force: true });
});

async function readmeExample(): Promise<string> {
  const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(MARKER);
  expect(at, `README.md has no ${MARKER}`).toBeGreaterThan(-1);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(block, 'no ```ts block after the marker').not.toBeNull();
  return block![1]!;
}

describe('the README client example', () => {
  it('runs as pasted and prints one prediction per row', async () => {
    const source = (await readmeExample()).replaceAll('http://127.0.0.1:8080', server.url);
    const file = path.join(folder, 'example.ts');
    await mkdir(folder, { recursive: true });
    await writeFile(file, source);
    const tsx = path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [tsx, file], { cwd: REPO_ROOT });
    expect(stderr).toBe('');
    expect(stdout.trim()).toBe('[ 4, 5 ]');
  });
});
