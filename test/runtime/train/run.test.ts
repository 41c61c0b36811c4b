import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { isTabularDescription, type ModelDescription, type TabularModelDescription } from '../../../model-runtime/src/artifact/model-description.ts';
import { loadArtifact } from '../../../model-runtime/src/artifact/load.ts';
import { TrainingStopped } from '../../../model-runtime/src/train/fit.ts';
import { runTraining } from '../../../model-runtime/src/train/run.ts';
import { logTrainingLines } from '../../../model-runtime/src/train/training-log.ts';
import { blobsCsv, linearCsv, makeTree } from './tree.ts';

async function predict(onnx: Uint8Array, rows: number[][]): Promise<number[]> {
  const session = await ort.InferenceSession.create(onnx);
  const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]) });
  await session.release();
  return Array.from(out.output!.data as Float32Array);
}

describe('runTraining', () => {
  it('fits linear regression that recovers the generating weights, saved and reloaded intact', async () => {
    const paths = await makeTree(
      { algorithm: 'linear-regression', epochs: '40', seed: '1' },
      { train: { 'part-1.csv': linearCsv(300, 1), 'part-2.csv': linearCsv(100, 2) }, validation: { 'v.csv': linearCsv(80, 3) } },
    );
    const lines: string[] = [];
    const result = await runTraining(paths, { onEvent: logTrainingLines((l) => lines.push(l)) });
    const loaded = await loadArtifact(paths.model);
    expect(loaded.manifest.digest).toBe(result.manifest.digest);
    expect(tabular(loaded.description).features).toEqual(['a', 'b']);
    // y = 3a - 2b + 1 in raw units: the standardisation is inside the graph.
    const [origin, unitA, unitB] = await predict(loaded.onnx, [[0, 0], [1, 0], [0, 1]]);
    expect(origin).toBeCloseTo(1, 1);
    expect(unitA! - origin!).toBeCloseTo(3, 1);
    expect(unitB! - origin!).toBeCloseTo(-2, 1);
    expect(loaded.description.metrics.validation_rmse).toBeLessThan(0.1);
    expect(lines.filter((l) => /^epoch=\d+; train_loss=\S+; validation_loss=\S+; validation_rmse=\S+;$/.test(l)).length).toBeGreaterThan(5);
    await rm(paths.root, { recursive: true, force: true });
  });

  it('cross-validates: k folds reported as mean and spread, then a final model on all rows', async () => {
    const paths = await makeTree({ algorithm: 'logistic-regression', cv_folds: '3', epochs: '15', seed: '2' }, { train: { 'd.csv': blobsCsv(240, 4) } });
    const lines: string[] = [];
    const result = await runTraining(paths, { onEvent: logTrainingLines((l) => lines.push(l)) });
    expect(lines.filter((l) => /^cv: fold \d\/3 best epoch/.test(l))).toHaveLength(3);
    const cvLine = lines.find((l) => l.startsWith('cv_validation_loss_mean='))!;
    const value = (name: string) => Number(new RegExp(`${name}=(\\S+);`).exec(cvLine)![1]);
    expect(value('cv_validation_accuracy_mean')).toBeGreaterThan(0.9);
    expect(value('cv_validation_loss_std')).toBeGreaterThan(0);
    expect(value('cv_validation_loss_std')).toBeLessThan(value('cv_validation_loss_mean'));
    expect(lines).toContain(`final: training on all 240 rows for ${result.history.length} epochs (the folds' mean best epoch)`);
    expect(tabular(result.description).labels).toEqual(['blue', 'green', 'red']);
    expect(result.description.metrics.cv_validation_accuracy_mean).toBe(value('cv_validation_accuracy_mean'));
    expect(result.description.metrics.train_accuracy).toBeGreaterThan(0.9);
    await rm(paths.root, { recursive: true, force: true });
  });

  it('trains on JSON Lines streamed from the files when the data exceeds the memory budget', async () => {
    const jsonl = (rows: number, seed: number) =>
      blobsCsv(rows, seed)
        .trim()
        .split('\n')
        .map((line) => {
          const [colour, x, y] = line.split(',');
          return JSON.stringify({ x: Number(x), y: Number(y), colour });
        })
        .join('\n');
    const paths = await makeTree(
      { label_column: 'colour', epochs: '8', hidden_sizes: '16', learning_rate: '0.01' },
      { train: { 'a.jsonl': jsonl(150, 1), 'b.jsonl': jsonl(150, 2) } },
    );
    const lines: string[] = [];
    const result = await runTraining(paths, { onEvent: logTrainingLines((l) => lines.push(l)), maxInMemoryBytes: 4096 });
    expect(lines.join('\n')).toMatch(/streamed from the files each epoch/);
    expect(tabular(result.description).features).toEqual(['x', 'y']);
    expect(result.description.metrics.validation_accuracy).toBeGreaterThan(0.9);
    await rm(paths.root, { recursive: true, force: true });
  });

  it('gives identical losses for the same seed and different ones for another seed', async () => {
    const losses = async (seed: string) => {
      const paths = await makeTree({ epochs: '3', seed, dropout: '0.1', hidden_sizes: '16' }, { train: { 'd.csv': blobsCsv(150, 9) } });
      const result = await runTraining(paths, { onEvent: () => {} });
      await rm(paths.root, { recursive: true, force: true });
      return result.history.map((m) => [m.train_loss, m.validation_loss]);
    };
    const first = await losses('7');
    expect(await losses('7')).toEqual(first);
    expect(await losses('8')).not.toEqual(first);
  });

  it('gives two identical runs the same digest: it depends on the model\'s bytes only, not on when it was trained', async () => {
    const digest = async () => {
      const paths = await makeTree({ algorithm: 'mlp', epochs: '3', seed: '5', hidden_sizes: '8' }, { train: { 'd.csv': blobsCsv(120, 6) } });
      const result = await runTraining(paths, { onEvent: () => {} });
      const loaded = await loadArtifact(paths.model);
      await rm(paths.root, { recursive: true, force: true });
      return { digest: loaded.manifest.digest, createdAt: loaded.manifest.createdAt, returned: result.manifest.digest };
    };
    const first = await digest();
    await new Promise((resolve) => setTimeout(resolve, 5)); // a later clock reading
    const second = await digest();
    expect(second.digest).toBe(first.digest);
    expect(first.returned).toBe(first.digest);
    expect(Date.parse(second.createdAt!)).toBeGreaterThan(Date.parse(first.createdAt!));
  });

  it('stops on request with a checkpoint, and resumes to exactly the uninterrupted result', async () => {
    const hyperparameters = { algorithm: 'mlp', hidden_sizes: '8', epochs: '6', batch_size: '16', seed: '5', dropout: '0.2', checkpoint_every_steps: '4' };
    const data = { train: { 'd.csv': linearCsv(200, 6) } };
    const reference = await makeTree(hyperparameters, data);
    const expected = await runTraining(reference, { onEvent: () => {} });

    const paths = await makeTree(hyperparameters, data);
    const controller = new AbortController();
    const stopped = runTraining(paths, {
      signal: controller.signal,
      onEvent: (event) => {
        // Mid-epoch: epoch 3, batch 2 of 12.
        if (event.kind === 'batch' && event.epoch === 3 && event.batch === 2) controller.abort();
      },
    });
    await expect(stopped).rejects.toBeInstanceOf(TrainingStopped);
    const checkpoint = JSON.parse(await readFile(path.join(paths.checkpoints, 'checkpoint.json'), 'utf8'));
    expect(checkpoint.position).toMatchObject({ epoch: 2, batch: 2 });
    await expect(stat(paths.model)).rejects.toThrow();

    const lines: string[] = [];
    const resumed = await runTraining(paths, { onEvent: logTrainingLines((l) => lines.push(l)) });
    expect(lines).toContain('checkpoint: resuming the final fit at epoch 3, batch 3');
    expect(resumed.history).toEqual(expected.history);
    expect(resumed.description.metrics).toEqual(expected.description.metrics);
    const reloaded = await loadArtifact(paths.model);
    expect(reloaded.onnx).toEqual((await loadArtifact(reference.model)).onnx);
    await expect(stat(path.join(paths.checkpoints, 'checkpoint.json'))).rejects.toThrow();
    await rm(paths.root, { recursive: true, force: true });
    await rm(reference.root, { recursive: true, force: true });
  });

  it('refuses a checkpoint written with other hyperparameters', async () => {
    const data = { train: { 'd.csv': linearCsv(100, 6) } };
    const paths = await makeTree({ epochs: '3', hidden_sizes: '4' }, data);
    const controller = new AbortController();
    controller.abort();
    await expect(runTraining(paths, { onEvent: () => {}, signal: controller.signal })).rejects.toBeInstanceOf(TrainingStopped);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(paths.hyperparameters, JSON.stringify({ epochs: '4', hidden_sizes: '4' }));
    await expect(runTraining(paths, { onEvent: () => {} })).rejects.toThrow(/written by a run with other hyperparameters or data; remove it/);
    await rm(paths.root, { recursive: true, force: true });
  });

  it('keeps each tuning job\'s checkpoints apart, so siblings sharing one checkpoint URI do not refuse each other', async () => {
    // SageMaker gives every training job of a tuning job the same CheckpointConfig and adds
    // _tuning_objective_metric to its hyperparameters; sibling A is stopped mid-run, then sibling B
    // (other hyperparameters) runs on the same checkpoints/ folder.
    const data = { train: { 'd.csv': linearCsv(100, 6) } };
    const paths = await makeTree({ epochs: '3', hidden_sizes: '4', _tuning_objective_metric: 'validation_loss' }, data);
    const previous = process.env.TRAINING_JOB_NAME;
    try {
      process.env.TRAINING_JOB_NAME = 'tune-001-a';
      const controller = new AbortController();
      controller.abort();
      await expect(runTraining(paths, { onEvent: () => {}, signal: controller.signal })).rejects.toBeInstanceOf(TrainingStopped);
      await expect(stat(path.join(paths.checkpoints, 'tune-001-a', 'checkpoint.json'))).resolves.toBeTruthy();

      const { writeFile } = await import('node:fs/promises');
      await writeFile(paths.hyperparameters, JSON.stringify({ epochs: '4', hidden_sizes: '4', _tuning_objective_metric: 'validation_loss' }));
      process.env.TRAINING_JOB_NAME = 'tune-002-b';
      const result = await runTraining(paths, { onEvent: () => {} });
      expect(result.description.hyperparameters.epochs).toBe('4');
      // A's checkpoint is still there for A's spot restart.
      await expect(stat(path.join(paths.checkpoints, 'tune-001-a', 'checkpoint.json'))).resolves.toBeTruthy();
    } finally {
      if (previous === undefined) delete process.env.TRAINING_JOB_NAME;
      else process.env.TRAINING_JOB_NAME = previous;
      await rm(paths.root, { recursive: true, force: true });
    }
  });
});

/** The description of a tabular run, refused (failing the test) if it is anything else. */
function tabular(description: ModelDescription): TabularModelDescription {
  if (!isTabularDescription(description)) throw new Error(`expected a tabular model, got ${description.algorithm}`);
  return description;
}
