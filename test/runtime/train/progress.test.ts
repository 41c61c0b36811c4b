/**
 * What the progress bar is fed: each batch while an epoch runs (its validation loss is not known
 * yet, so the bar must not show the previous epoch's value next to this epoch's number, as it once
 * did all through the last epoch), then the epoch once it is evaluated, with its own value.
 */
import { rm } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { validationLossLabel } from '../../../model-runtime/src/train/progress-bar.ts';
import { runTraining } from '../../../model-runtime/src/train/run.ts';
import type { BatchEvent, EpochEvent } from '../../../model-runtime/src/train/training-events.ts';
import { linearCsv, makeTree } from './tree.ts';

it('sends each batch, then each epoch once evaluated, and the bar labels the validation loss with its own epoch', async () => {
  const paths = await makeTree(
    { algorithm: 'linear-regression', epochs: '3', batch_size: '16', seed: '3', early_stopping_patience: '0' },
    { train: { 'd.csv': linearCsv(64, 1) }, validation: { 'v.csv': linearCsv(20, 2) } },
  );
  const updates: (BatchEvent | EpochEvent)[] = [];
  const result = await runTraining(paths, {
    onEvent: (event) => {
      if (event.kind === 'batch' || event.kind === 'epoch') updates.push(event);
    },
  });
  await rm(paths.root, { recursive: true, force: true });

  const order = updates.map((u) => (u.kind === 'batch' ? `${u.epoch}.${u.batch}` : `${u.epoch} evaluated`));
  expect(order).toEqual(['1.1', '1.2', '1.3', '1.4', '1 evaluated', '2.1', '2.2', '2.3', '2.4', '2 evaluated', '3.1', '3.2', '3.3', '3.4', '3 evaluated']);
  for (const epoch of [1, 2, 3]) {
    const evaluated = updates.find((u): u is EpochEvent => u.kind === 'epoch' && u.epoch === epoch)!;
    expect(evaluated).toMatchObject({ phase: 'final', fold: null, epochs: 3, batches: 4 });
    expect(evaluated.metrics).toEqual(result.history[epoch - 1]);
    const lastBatch = updates.find((u): u is BatchEvent => u.kind === 'batch' && u.epoch === epoch && u.batch === 4)!;
    expect(lastBatch.trainLoss).toBe(evaluated.metrics.train_loss);
  }

  const label = validationLossLabel();
  const own = (epoch: number) => `${result.history[epoch - 1]!.validation_loss!.toPrecision(4)} (epoch ${epoch})`;
  expect(updates.map(label)).toEqual([
    '-', '-', '-', '-', own(1),
    own(1), own(1), own(1), own(1), own(2),
    own(2), own(2), own(2), own(2), own(3),
  ]);
});

it('labels the bar\'s validation loss with the epoch it belongs to, and forgets it when a new fold starts', () => {
  const label = validationLossLabel();
  const context = (fold: number | null) => ({ phase: fold === null ? 'final' : 'cv', fold, epochs: 3 }) as const;
  const batch = (epoch: number, fold: number | null = null): BatchEvent => ({ kind: 'batch', ...context(fold), epoch, batch: 1, trainLoss: 1 });
  const evaluated = (epoch: number, validationLoss: number): EpochEvent =>
    ({ kind: 'epoch', ...context(null), epoch, batches: 1, metrics: { epoch, train_loss: 1, validation_loss: validationLoss } });
  expect(label(batch(1))).toBe('-');
  expect(label(evaluated(1, 0.5))).toBe('0.5000 (epoch 1)');
  expect(label(batch(2))).toBe('0.5000 (epoch 1)');
  expect(label(evaluated(2, 0.25))).toBe('0.2500 (epoch 2)');
  expect(label(batch(1, 0))).toBe('-');
});
