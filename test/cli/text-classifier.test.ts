/**
 * `modelstack train docs.jsonl --algorithm text-classifier` -> model.tar.gz -> `modelstack serve`
 * -> `modelstack invoke`, as a user runs them: real processes, the archive on disk, loopback HTTP.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { x as extractTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicJsonLines } from '../runtime/train/text-data.ts';
import { runCli } from '../serve/fixtures/spawn-cli.ts';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-cli-text-'));
  await writeFile(path.join(work, 'docs.jsonl'), topicJsonLines(360, 21));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('modelstack train --algorithm text-classifier -> serve -> invoke', () => {
  it('trains on a .jsonl file to an archive with its tokenizer, serves it, and classifies through the AWS SDK', async () => {
    const archive = path.join(work, 'topics.tar.gz');
    const hp = ['n_layer=1', 'n_head=2', 'n_embd=32', 'context_length=32', 'vocab_size=400', 'epochs=4', 'batch_size=16', 'learning_rate=0.003'].flatMap((pair) => ['--hp', pair]);
    const train = runCli(['train', path.join(work, 'docs.jsonl'), '--algorithm', 'text-classifier', ...hp, '--output', archive]);
    expect(await train.exited, train.stderr()).toBe(0);
    expect(train.stdout()).toMatch(/^epoch=1; train_loss=\S+; validation_loss=\S+; validation_accuracy=\S+;/m);
    expect(train.stdout()).toMatch(/^model digest: [0-9a-f]{64}$/m);
    const unpacked = await mkdtemp(path.join(work, 'unpacked-'));
    await extractTar({ file: archive, cwd: unpacked, strict: true });
    expect((await readdir(unpacked)).sort()).toEqual(['MANIFEST.json', 'model.json', 'model.onnx', 'tokenizer.json']);

    const serve = runCli(['serve', archive, '--port', '0']);
    try {
      const listening = await serve.waitForLog((entry) => entry.msg === 'listening');
      const loaded = await serve.waitForLog((entry) => entry.msg === 'model loaded');
      expect(loaded).toMatchObject({ algorithm: 'text-classifier', task: 'multiclass', labels: ['food', 'sports', 'weather'], contextLength: 32 });
      const url = `http://127.0.0.1:${listening.port as number}`;

      const invoke = runCli(['invoke', 'topics', '--local', url, '--body', JSON.stringify({ inputs: ['we saw the storm', 'a recipe for soup'] })]);
      expect(await invoke.exited, invoke.stderr()).toBe(0);
      const answer = JSON.parse(invoke.stdout()) as { label: string; score: number }[];
      expect(answer.map((a) => a.label)).toEqual(['weather', 'food']);

      const wrong = runCli(['invoke', 'topics', '--local', url, '--body', '{"inputs": [1]}']);
      expect(await wrong.exited).toBe(1);
      expect(wrong.stderr()).toMatch(/the model answered 400: .*inputs\[0\] must be a string/);

      serve.child.kill('SIGTERM');
      expect(await serve.exited).toBe(0);
    } finally {
      serve.child.kill('SIGKILL');
    }
  });
});
