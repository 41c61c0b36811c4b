/**
 * The SageMaker training contract end to end: `model-runtime train` as SageMaker runs it, a
 * child process over a MODEL_RUNTIME_ROOT tree, judged by exit status, files and stdout.
 */
import { spawn } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadArtifact } from '../../../model-runtime/src/artifact/load.ts';
import { metricRegex } from '../../../model-runtime/src/contract/metrics.ts';
import type { RuntimePaths } from '../../../model-runtime/src/contract/paths.ts';
import { blobsCsv, linearCsv, makeTree } from './tree.ts';

const BIN = path.resolve(import.meta.dirname, '../../../model-runtime/bin/model-runtime');

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function train(paths: RuntimePaths, onStdout?: (text: string, signal: () => void) => void): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['train'], { env: { ...process.env, MODEL_RUNTIME_ROOT: paths.root, MODEL_RUNTIME_THREADS: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      onStdout?.(stdout, () => child.kill('SIGTERM'));
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const roots: string[] = [];
async function tree(...args: Parameters<typeof makeTree>): Promise<RuntimePaths> {
  const paths = await makeTree(...args);
  roots.push(paths.root);
  return paths;
}
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

describe('model-runtime train', () => {
  it('trains from the channels, prints metric lines SageMaker can read, and writes a verifiable model', async () => {
    const paths = await tree(
      { epochs: '5', hidden_sizes: '8' },
      { train: { 'blobs.data': blobsCsv(120, 1) }, validation: { 'blobs.data': blobsCsv(30, 2) } },
      { train: { ContentType: 'text/csv' }, validation: { ContentType: 'text/csv; charset=utf-8' } },
    );
    const { code, stdout, stderr } = await train(paths);
    expect(stderr).not.toMatch(/Training failed/);
    expect(code).toBe(0);
    const epochLines = stdout.split('\n').filter((line) => line.startsWith('epoch='));
    expect(epochLines.length).toBe(6); // five epochs, then the saved model's final metrics
    for (const name of ['epoch', 'train_loss', 'validation_loss', 'validation_accuracy'] as const) {
      expect(epochLines[0]).toMatch(new RegExp(metricRegex(name)));
    }
    expect(epochLines.at(-1)).toMatch(new RegExp(metricRegex('train_accuracy')));
    const artifact = await loadArtifact(paths.model);
    expect(artifact.description).toMatchObject({ algorithm: 'mlp', task: 'multiclass', labels: ['blue', 'green', 'red'] });
    expect(stdout).toContain(`digest ${artifact.manifest.digest}`);
    await expect(stat(paths.failure)).rejects.toThrow();
  });

  it('writes output/failure naming a bad hyperparameter and exits non-zero', async () => {
    const paths = await tree({ learning_rate: '-1' }, { train: { 'd.csv': linearCsv(20, 1) } });
    const { code } = await train(paths);
    expect(code).toBe(1);
    expect(await readFile(paths.failure, 'utf8')).toBe(
      'Invalid hyperparameters: hyperparameter learning_rate="-1" is not allowed; expected number > 0 and <= 10',
    );
  });

  it('writes output/failure naming the file and line of a malformed row and exits non-zero', async () => {
    const paths = await tree({}, { train: { 'd.csv': 'y,a,b\n1,2,3\n4,5,six\n' } });
    const { code, stderr } = await train(paths);
    expect(code).toBe(1);
    const reason = await readFile(paths.failure, 'utf8');
    expect(reason).toBe('Invalid training data: train/d.csv line 3: feature "b" is "six"; expected a number');
    expect(stderr).toContain(reason);
    await expect(stat(paths.model)).rejects.toThrow();
  });

  it('refuses to start when a job folder cannot be written, and says so plainly when output/failure cannot be either', async () => {
    const paths = await tree({}, { train: { 'd.csv': linearCsv(20, 1) } });
    // A file where a folder belongs stops even root (these tests may run as root, which every permission check lets through).
    await writeFile(paths.checkpoints, 'not a folder');
    const first = await train(paths);
    expect(first.code).toBe(1);
    expect(await readFile(paths.failure, 'utf8')).toMatch(/^Invalid job folders: cannot write the training job's folders: checkpoints\/ \(.*\) is a file, not a folder\. SageMaker runs the container as root/);
    expect(first.stdout).not.toMatch(/epoch=/); // refused before any training

    await rm(paths.output, { recursive: true, force: true });
    await writeFile(paths.output, 'not a folder either');
    const second = await train(paths);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/output\/ \(.*\) is a file, not a folder; checkpoints\/ \(.*\) is a file, not a folder/);
    expect(second.stderr).toMatch(/could not write .*output\/failure either \((EEXIST|ENOTDIR)\): the reason above is the only record/);
    expect(second.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('checkpoints on SIGTERM, exits cleanly, and resumes from the checkpoint', async () => {
    const paths = await tree({ epochs: '400', batch_size: '8', hidden_sizes: '16', early_stopping_patience: '0' }, { train: { 'd.csv': linearCsv(200, 3) } });
    let signalled = false;
    const stopped = await train(paths, (stdout, sigterm) => {
      if (!signalled && stdout.includes('epoch=2;')) {
        signalled = true;
        sigterm();
      }
    });
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toMatch(/SIGTERM: writing a checkpoint, then stopping/);
    const checkpoint = JSON.parse(await readFile(path.join(paths.checkpoints, 'checkpoint.json'), 'utf8'));
    expect(checkpoint.position.epoch).toBeGreaterThanOrEqual(2);
    await expect(stat(paths.model)).rejects.toThrow();

    // Resume, with the remaining epochs cut short so the test stays quick: the fingerprint covers
    // the hyperparameters, so the resumed run must keep them; SIGTERM it again after one more epoch.
    const resumedFrom = checkpoint.position.epoch + 1;
    let again = false;
    const resumed = await train(paths, (stdout, sigterm) => {
      if (!again && stdout.includes(`epoch=${resumedFrom};`)) {
        again = true;
        sigterm();
      }
    });
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`checkpoint: resuming the final fit at epoch ${resumedFrom}`));
    expect(resumed.stdout).not.toMatch(/^epoch=1;/m);
  });
});
