/**
 * `modelstack inspect`, spawned as a user runs it: on a freshly trained tabular model (its seal,
 * digest, hyperparameters, metrics and content types), on a tampered copy and a wrong expected
 * digest (both refused, as serving would refuse them), and on an ONNX model sealed by `modelstack
 * package --task tensors` (its graph's tensors).
 */
import { mkdir, mkdtemp, writeFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { c as createTar, x as extractTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HYPERPARAMETER_SPECS } from '../../model-runtime/src/contract/hyperparameters.ts';
import { writeGpt2ExportFolder } from '../serve/fixtures/hf-exports.ts';
import { runCli } from '../serve/fixtures/spawn-cli.ts';

const sileroV5 = path.join(path.dirname(createRequire(import.meta.url).resolve('@ricky0123/vad-web/package.json')), 'dist', 'silero_vad_v5.onnx');

let work: string;
let archive: string;
let trainedDigest: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-inspect-'));
  const rows = ['species,a,b'];
  for (let i = 0; i < 40; i++) rows.push(`${i % 2 === 0 ? 'cat' : 'dog'},${i % 2 === 0 ? 1 : -1},${i % 3}`);
  await writeFile(path.join(work, 'pets.csv'), `${rows.join('\n')}\n`);
  archive = path.join(work, 'pets.tar.gz');
  const train = runCli(['train', path.join(work, 'pets.csv'), '--algorithm', 'mlp', '--hp', 'epochs=2', '--hp', 'validation_fraction=0', '-o', archive]);
  expect(await train.exited, train.stderr()).toBe(0);
  trainedDigest = /^model digest: ([0-9a-f]{64})$/m.exec(train.stdout())![1]!;
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Report {
  verified: boolean;
  digest: string;
  digestMatches: boolean | null;
  algorithm: string;
  task: string | null;
  labels: string[] | null;
  features: string[] | null;
  hyperparameters: Record<string, string>;
  metrics: Record<string, number>;
  contentTypes: { requests: string[]; responses: string[] };
  inputs: { name: string; dtype: string; shape: (number | string)[] }[];
  outputs: { name: string; dtype: string; shape: (number | string)[] }[];
  files: { name: string; bytes: number }[];
  totalBytes: number;
}

describe('modelstack inspect on a trained model', () => {
  it('--json: verified, the digest train printed, the mlp\'s own hyperparameters, its metrics and its graph', async () => {
    const inspect = runCli(['inspect', archive, '--json']);
    expect(await inspect.exited, inspect.stderr()).toBe(0);
    const report = JSON.parse(inspect.stdout()) as Report;
    expect(report).toMatchObject({ verified: true, digest: trainedDigest, digestMatches: null, algorithm: 'mlp', task: 'binary', labels: ['cat', 'dog'], features: ['a', 'b'] });
    expect(report.hyperparameters).toMatchObject({ epochs: '2', validation_fraction: '0' });
    // Only keys that configure an mlp: no text, CNN or recommender settings.
    const foreign = Object.keys(report.hyperparameters).filter((key) => !(HYPERPARAMETER_SPECS as Record<string, { appliesTo: readonly string[] }>)[key]?.appliesTo.includes('mlp'));
    expect(foreign).toEqual([]);
    expect(Object.keys(HYPERPARAMETER_SPECS).length).toBeGreaterThan(Object.keys(report.hyperparameters).length);
    expect(report.metrics.train_loss).toBeGreaterThan(0);
    expect(report.contentTypes.requests).toContain('text/csv');
    expect(report.inputs).toEqual([{ name: 'features', dtype: 'float32', shape: [expect.anything(), 2] }]);
    expect(report.files.map((f) => f.name)).toEqual(['MANIFEST.json', 'model.json', 'model.onnx']);
    expect(report.totalBytes).toBe(report.files.reduce((sum, f) => sum + f.bytes, 0));
  });

  it('prints the seal, the model and the content types a request may use, in text', async () => {
    const inspect = runCli(['inspect', archive]);
    expect(await inspect.exited, inspect.stderr()).toBe(0);
    const out = inspect.stdout();
    expect(out).toMatch(/^seal: verified/m);
    expect(out).toContain(`digest: ${trainedDigest}`);
    expect(out).toMatch(/^algorithm: mlp$/m);
    expect(out).toMatch(/^labels: cat, dog$/m);
    expect(out).toMatch(/^accepts \(Content-Type\): application\/json, text\/csv, application\/jsonlines$/m);
    expect(out).toMatch(/^inputs: features float32 \(\S+, 2\)$/m);
  });

  it('lists the content types the server then takes: each one listed is read, an unlisted one is a 415', async () => {
    const inspect = runCli(['inspect', archive, '--json']);
    expect(await inspect.exited, inspect.stderr()).toBe(0);
    const { contentTypes } = JSON.parse(inspect.stdout()) as Report;
    const bodies: Record<string, string> = { 'application/json': '{"instances": [[1, 0]]}', 'text/csv': '1,0\n', 'application/jsonlines': '[1, 0]\n' };
    const serve = runCli(['serve', archive, '--port', '0']);
    try {
      const { port } = await serve.waitForLog((entry) => entry.msg === 'listening');
      await serve.waitForLog((entry) => entry.msg === 'model loaded');
      const post = (type: string, body: string) => fetch(`http://127.0.0.1:${port as number}/invocations`, { method: 'POST', headers: { 'content-type': type }, body });
      for (const type of contentTypes.requests) expect([type, (await post(type, bodies[type]!)).status]).toEqual([type, 200]);
      expect((await post('image/png', 'not a table')).status).toBe(415);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });

  it('passes with the digest it was sealed with, and exits 1 with another, as serving would refuse it', async () => {
    const matching = runCli(['inspect', archive, '--expected-digest', trainedDigest.toUpperCase()]);
    expect(await matching.exited, matching.stderr()).toBe(0);
    expect(matching.stdout()).toMatch(/^expected digest: matches$/m);

    const other = '0'.repeat(64);
    const wrong = runCli(['inspect', archive, '--expected-digest', other, '--json']);
    expect(await wrong.exited).toBe(1);
    expect((JSON.parse(wrong.stdout()) as Report).digestMatches).toBe(false);
    expect(wrong.stderr()).toContain(`has digest ${trainedDigest}, not the expected ${other}`);
    expect(wrong.stderr()).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('exits 1 on a tampered copy, naming the file that changed', async () => {
    const copy = path.join(work, 'tampered');
    await mkdir(copy);
    await extractTar({ file: archive, cwd: copy, strict: true });
    await writeFile(path.join(copy, 'model.json'), '{"format": "modelstack/1"}\n');
    const tampered = path.join(work, 'tampered.tar.gz');
    await createTar({ gzip: true, file: tampered, cwd: copy }, ['MANIFEST.json', 'model.json', 'model.onnx']);
    const inspect = runCli(['inspect', tampered]);
    expect(await inspect.exited).toBe(1);
    expect(inspect.stderr()).toMatch(/tampered\.tar\.gz does not verify, so serving would refuse it: .*changed: model\.json$/m);
    expect(inspect.stderr()).not.toMatch(/\n\s+at /);
    expect(inspect.stdout()).toBe('');
  });

  it('exits 1 with a message on a missing file and on an archive that is not a model', async () => {
    const missing = runCli(['inspect', path.join(work, 'nothing.tar.gz')]);
    expect(await missing.exited).toBe(1);
    expect(missing.stderr()).toMatch(/nothing\.tar\.gz does not exist/);

    await writeFile(path.join(work, 'notes.txt'), 'not a model\n');
    const notModel = path.join(work, 'notes.tar.gz');
    await createTar({ gzip: true, file: notModel, cwd: work }, ['notes.txt']);
    const inspect = runCli(['inspect', notModel]);
    expect(await inspect.exited).toBe(1);
    expect(inspect.stderr()).toMatch(/notes\.tar\.gz is not a modelstack model: it has no MANIFEST\.json \(it holds notes\.txt\); pass a model\.tar\.gz written by `modelstack train`/);
  });
});

describe('modelstack inspect on a packaged ONNX model', () => {
  it('lists the named tensors the ONNX file declares, with dtypes and shapes', async () => {
    const vad = path.join(work, 'vad.tar.gz');
    const pack = runCli(['package', sileroV5, '--task', 'tensors', '-o', vad]);
    expect(await pack.exited, pack.stderr()).toBe(0);
    const inspect = runCli(['inspect', vad, '--json']);
    expect(await inspect.exited, inspect.stderr()).toBe(0);
    const report = JSON.parse(inspect.stdout()) as Report & { sourceFiles: string[] };
    expect(report).toMatchObject({ algorithm: 'onnx', task: 'tensors', sourceFiles: ['model.onnx'], contentTypes: { requests: ['application/json'], responses: ['application/json'] } });
    expect(report.inputs.map(({ name, dtype }) => `${name} ${dtype}`)).toEqual(['input float32', 'state float32', 'sr int64']);
    expect(report.inputs.find((t) => t.name === 'state')!.shape).toEqual([2, expect.anything(), 128]);
    expect(report.outputs.map((t) => t.name)).toEqual(['output', 'stateN']);

    const text = runCli(['inspect', vad]);
    expect(await text.exited, text.stderr()).toBe(0);
    expect(text.stdout()).toMatch(/^inputs: input float32 \([^)]*\); state float32 \(2, [^)]*128\); sr int64 \(\)$/m);
  });

  it("names a text-generation export's chat template, and null where the export has none", async () => {
    const withTemplate = path.join(work, 'chat-export');
    await writeGpt2ExportFolder(withTemplate, { chatTemplateJinja: "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}" });
    const without = path.join(work, 'plain-export');
    await writeGpt2ExportFolder(without);
    const reports: Record<string, unknown>[] = [];
    for (const folder of [withTemplate, without]) {
      const archive = `${folder}.tar.gz`;
      const pack = runCli(['package', folder, '--task', 'text-generation', '-o', archive]);
      expect(await pack.exited, pack.stderr()).toBe(0);
      const inspect = runCli(['inspect', archive, '--json']);
      expect(await inspect.exited, inspect.stderr()).toBe(0);
      reports.push(JSON.parse(inspect.stdout()) as Record<string, unknown>);
    }
    expect(reports.map((r) => r.chatTemplate)).toEqual(['chat_template.jinja', null]);
    const text = runCli(['inspect', `${withTemplate}.tar.gz`]);
    expect(await text.exited, text.stderr()).toBe(0);
    expect(text.stdout()).toMatch(/^chat: OpenAI messages through the chat template in chat_template\.jinja$/m);
  }, 60_000);
});
