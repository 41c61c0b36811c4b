/**
 * What the progress bar is fed: during an epoch its validation loss is not known yet, so the
 * bar must not show the previous epoch's value next to this epoch's number (it did, all through
 * the last epoch); once the epoch is evaluated, its own value.
 */
import { rm } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { validationLossLabel } from '../../../model-runtime/src/train/progress-bar.ts';
import { runTraining, type TrainingProgress } from '../../../model-runtime/src/train/run.ts';
import { linearCsv, makeTree } from './tree.ts';

it('reports no validation loss while an epoch runs, and that epoch\'s own once it is evaluated', async () => {
  const paths = await makeTree(
    { algorithm: 'linear-regression', epochs: '3', batch_size: '16', seed: '3', early_stopping_patience: '0' },
    { train: { 'd.csv': linearCsv(64, 1) }, validation: { 'v.csv': linearCsv(20, 2) } },
  );
  const updates: TrainingProgress[] = [];
  const result = await runTraining(paths, { log: () => {}, onProgress: (p) => updates.push(p) });
  await rm(paths.root, { recursive: true, force: true });

  for (const epoch of [1, 2, 3]) {
    const ofEpoch = updates.filter((p) => p.epoch === epoch);
    const running = ofEpoch.filter((p) => !p.epochComplete);
    expect(running.map((p) => p.batch)).toEqual([1, 2, 3, 4]);
    expect(running.map((p) => p.validationLoss)).toEqual([null, null, null, null]);
    const evaluated = ofEpoch.filter((p) => p.epochComplete);
    expect(evaluated).toHaveLength(1);
    expect(evaluated[0]!.validationLoss).toBe(result.history[epoch - 1]!.validation_loss);
    expect(evaluated[0]!.trainLoss).toBe(result.history[epoch - 1]!.train_loss);
  }
  expect(updates.at(-1)).toMatchObject({ epoch: 3, epochComplete: true, validationLoss: result.history[2]!.validation_loss });
});

it('labels the bar\'s validation loss with the epoch it belongs to, and forgets it when a new fold starts', () => {
  const label = validationLossLabel();
  const at = (epoch: number, epochComplete: boolean, validationLoss: number | null, fold: number | null = null): TrainingProgress =>
    ({ phase: fold === null ? 'train' : 'cv', fold, epoch, epochs: 3, batch: 1, trainLoss: 1, validationLoss, epochComplete });
  expect(label(at(1, false, null))).toBe('-');
  expect(label(at(1, true, 0.5))).toBe('0.5000 (epoch 1)');
  expect(label(at(2, false, null))).toBe('0.5000 (epoch 1)');
  expect(label(at(2, true, 0.25))).toBe('0.2500 (epoch 2)');
  expect(label(at(1, false, null, 0))).toBe('-');
});
