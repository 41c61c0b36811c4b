/**
 * The tabular defaults (train/tabular-defaults.ts): with only `algorithm` set, a small generated
 * data set reaches a stated accuracy on fresh rows; the run's first lines name the rule it chose;
 * a small-data run, which refits on every row, still prints validation metrics; a key the user
 * gives wins over the rule.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadArtifact } from '../../../model-runtime/src/artifact/load.ts';
import { isTabularDescription } from '../../../model-runtime/src/artifact/model-description.ts';
import { createRandom } from '../../../model-runtime/src/data/random.ts';
import { TrainingStopped } from '../../../model-runtime/src/train/fit.ts';
import { runTraining } from '../../../model-runtime/src/train/run.ts';
import type { TrainingEvent } from '../../../model-runtime/src/train/training-events.ts';
import { logTrainingLines } from '../../../model-runtime/src/train/training-log.ts';
import { makeTree } from './tree.ts';

interface Rows {
  readonly x: number[][];
  readonly y: number[];
}

/**
 * Four overlapping classes in 6 features: class means on two of them, every feature with unit
 * noise and its own scale (so standardisation matters). Even the best linear rule errs on some
 * rows, so a model stopped short of the optimum shows as lost accuracy.
 */
function overlappingClasses(rows: number, seed: number): Rows {
  const random = createRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const means = [[0, 0], [2.2, 0], [0, 2.2], [2.2, 2.2]];
  const scales = [1, 10, 0.1, 5, 1, 100];
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < rows; i++) {
    const label = i % 4;
    x.push(scales.map((scale, j) => ((means[label]![j] ?? 0) + gaussian()) * scale));
    y.push(label);
  }
  return { x, y };
}

/** Two classes on rings: radius below or above 1.2 in the first two of 4 features. A linear model cannot do it. */
function rings(rows: number, seed: number): Rows {
  const random = createRandom(seed);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < rows; i++) {
    const inner = i % 2 === 0;
    const radius = inner ? random() * 1 : 1.4 + random();
    const angle = random() * 2 * Math.PI;
    x.push([radius * Math.cos(angle), radius * Math.sin(angle), random() - 0.5, random() - 0.5]);
    y.push(inner ? 0 : 1);
  }
  return { x, y };
}

function csv({ x, y }: Rows): string {
  return `${['label', ...x[0]!.map((_, j) => `f${j}`)].join(',')}\n${x.map((row, i) => [y[i], ...row.map((v) => v.toFixed(5))].join(',')).join('\n')}\n`;
}

/** Accuracy of a saved classifier on fresh rows (its labels are the class numbers as text). */
async function accuracy(modelDir: string, test: Rows): Promise<number> {
  const { onnx, description } = await loadArtifact(modelDir);
  if (!isTabularDescription(description)) throw new Error('expected a tabular model');
  const labels = description.labels!.map(Number);
  const session = await ort.InferenceSession.create(onnx);
  try {
    const features = new ort.Tensor('float32', Float32Array.from(test.x.flat()), [test.x.length, test.x[0]!.length]);
    const probabilities = (await session.run({ features })).output!.data as Float32Array;
    const k = labels.length;
    let correct = 0;
    test.y.forEach((label, i) => {
      const row = Array.from(probabilities.subarray(i * k, (i + 1) * k));
      if (labels[row.indexOf(Math.max(...row))] === label) correct++;
    });
    return correct / test.y.length;
  } finally {
    await session.release();
  }
}

async function train(hyperparameters: Record<string, string>, data: Rows) {
  const paths = await makeTree(hyperparameters, { train: { 'train.csv': csv(data) } });
  const events: TrainingEvent[] = [];
  const lines: string[] = [];
  const print = logTrainingLines((line) => lines.push(line));
  const result = await runTraining(paths, { onEvent: (event) => { events.push(event); print(event); } });
  return { paths, result, events, lines };
}

describe('tabular defaults (only algorithm set)', () => {
  it('logistic-regression on 400 rows comes within 1.2 points of the Bayes rate on fresh rows, names full-batch L-BFGS in its first lines and prints validation metrics', async () => {
    const { paths, result, events, lines } = await train({ algorithm: 'logistic-regression' }, overlappingClasses(400, 1));
    // The Bayes rule (the nearest mean) is right on both informative features with P(|noise| < 1.1)^2 = 0.864^2 = 0.747.
    expect(await accuracy(paths.model, overlappingClasses(4000, 2))).toBeGreaterThan(0.735);
    const firstFit = events.findIndex((e) => e.kind === 'epoch' || e.kind === 'batch');
    const rule = events.findIndex((e) => e.kind === 'note' && e.text.startsWith('defaults for 400 rows: full-batch L-BFGS'));
    expect(rule).toBeGreaterThanOrEqual(0);
    expect(rule).toBeLessThan(firstFit);
    expect(lines.some((l) => /^final: hold-out validation loss \S+; refitting on all 400 rows$/.test(l))).toBe(true);
    // The cloud pipeline's gate reads validation_*: the last metric line and model.json carry them.
    const last = lines.filter((l) => l.startsWith('epoch=')).at(-1)!;
    expect(last).toMatch(/validation_loss=\S+; validation_accuracy=\S+;/);
    expect(result.description.metrics.validation_accuracy).toBeGreaterThan(0.6);
    expect(result.description.metrics.train_accuracy).toBeGreaterThan(0.7);
    // model.json claims no optimizer, batch or epoch setting: L-BFGS used none.
    expect(result.description.hyperparameters).toMatchObject({ algorithm: 'logistic-regression', seed: '0' });
    for (const unused of ['learning_rate', 'batch_size', 'epochs', 'optimizer', 'early_stopping_patience', 'hidden_sizes']) expect(result.description.hyperparameters).not.toHaveProperty(unused);
    await rm(paths.root, { recursive: true, force: true });
  });

  it('mlp on 300 rows of rings reaches 0.95 on fresh rows with the small-data rule, and still prints validation metrics', async () => {
    const { paths, result, events, lines } = await train({ algorithm: 'mlp' }, rings(300, 3));
    expect(await accuracy(paths.model, rings(2000, 4))).toBeGreaterThan(0.95);
    const firstNote = events.find((e) => e.kind === 'note' && e.text.startsWith('defaults for'));
    expect(firstNote).toMatchObject({ text: expect.stringMatching(/^defaults for 300 rows: hidden 100,100, adam lr 0.001, batch 200, up to 200 epochs, stop once the training loss has not improved by 0.0001 for 10 epochs; fit on 90%/) });
    expect(lines.filter((l) => l.startsWith('epoch=')).at(-1)).toMatch(/validation_loss=\S+; validation_accuracy=\S+;/);
    expect(result.description.metrics.validation_accuracy).toBeGreaterThan(0.9);
    expect(result.description.hyperparameters).toMatchObject({ hidden_sizes: '100,100', batch_size: '200' });
    await rm(paths.root, { recursive: true, force: true });
  });

  it('linear-regression on 300 noisy rows is the least-squares solution (normal equations) to 3 decimals (mini-batch adam misses by 0.03)', async () => {
    const random = createRandom(21);
    const x = Array.from({ length: 300 }, () => [random() * 4 - 2, random() * 10, random()]);
    const y = x.map(([a, b, c]) => 3 * a! - 2 * b! + 0.5 * c! + 1 + (random() - 0.5) * 4);
    const { paths } = await train({ algorithm: 'linear-regression' }, { x, y });
    // Least squares on [1, a, b, c]: solve (X^T X) w = X^T y by Gaussian elimination.
    const design = x.map((row) => [1, ...row]);
    const normal = [0, 1, 2, 3].map((i) => [...[0, 1, 2, 3].map((j) => design.reduce((s, r) => s + r[i]! * r[j]!, 0)), design.reduce((s, r, k) => s + r[i]! * y[k]!, 0)]);
    for (let col = 0; col < 4; col++) {
      for (let row = col + 1; row < 4; row++) {
        const f = normal[row]![col]! / normal[col]![col]!;
        for (let k = col; k < 5; k++) normal[row]![k] = normal[row]![k]! - f * normal[col]![k]!;
      }
    }
    const w = [0, 0, 0, 0];
    for (let row = 3; row >= 0; row--) w[row] = (normal[row]![4]! - [0, 1, 2, 3].slice(row + 1).reduce((s, k) => s + normal[row]![k]! * w[k]!, 0)) / normal[row]![row]!;
    const probe = [[0, 0, 0], [1, 5, 0.5], [-2, 10, 1]];
    const session = await ort.InferenceSession.create((await loadArtifact(paths.model)).onnx);
    const out = (await session.run({ features: new ort.Tensor('float32', Float32Array.from(probe.flat()), [3, 3]) })).output!.data as Float32Array;
    await session.release();
    probe.forEach(([a, b, c], i) => expect(out[i]).toBeCloseTo(w[0]! + w[1]! * a! + w[2]! * b! + w[3]! * c!, 3));
    await rm(paths.root, { recursive: true, force: true });
  });

  it('keeps what the user gives: an explicit learning_rate trains logistic regression with mini-batch adam, and says why', async () => {
    const { paths, events } = await train({ algorithm: 'logistic-regression', learning_rate: '0.05', epochs: '3' }, overlappingClasses(200, 5));
    const notes = events.filter((e): e is Extract<TrainingEvent, { kind: 'note' }> => e.kind === 'note').map((e) => e.text);
    expect(notes).toContain('defaults for 200 rows: mini-batch adam (learning_rate, epochs given), batch 32, up to 3 epochs, patience 10 on the validation loss');
    expect(events.filter((e) => e.kind === 'batch').length).toBeGreaterThan(3);
    await rm(paths.root, { recursive: true, force: true });
  });

  it('mlp regression keeps the hold-out early stopping (no refit) on small data', async () => {
    const random = createRandom(7);
    const x = Array.from({ length: 200 }, () => [random(), random()]);
    const data: Rows = { x, y: x.map(([a, b]) => Math.sin(3 * a!) + b! + (random() - 0.5) * 0.1) };
    const { paths, result, lines } = await train({ algorithm: 'mlp', task: 'regression', epochs: '5' }, data);
    expect(lines.some((l) => l.startsWith('defaults for 200 rows (regression): hidden 64,64, adam lr 0.001, batch 32, up to 5 epochs, patience 10 on the validation loss; the 10% hold-out validates and stops'))).toBe(true);
    expect(lines.some((l) => l.startsWith('final: hold-out'))).toBe(false);
    expect(result.description.metrics.validation_rmse).toBeGreaterThan(0);
    await rm(paths.root, { recursive: true, force: true });
  });

  it('cross-validates logistic regression with L-BFGS in every fold, then solves on all rows', async () => {
    const { paths, result, lines } = await train({ algorithm: 'logistic-regression', cv_folds: '3' }, overlappingClasses(300, 8));
    expect(lines.filter((l) => /^cv: fold \d\/3 best epoch 1, validation loss \S+, accuracy \S+$/.test(l))).toHaveLength(3);
    expect(lines.filter((l) => /^L-BFGS: (converged|stopped \(no further progress in float32\)) after \d+ iterations/.test(l))).toHaveLength(4);
    expect(lines).toContain('final: solving on all 300 rows');
    expect(result.description.metrics.cv_validation_accuracy_mean).toBeGreaterThan(0.65);
    await rm(paths.root, { recursive: true, force: true });
  });

  it.each([
    ['the hold-out fit', 'cv', 3],
    ['the final fit', 'final', 4],
  ] as const)('mlp small-data rule: stopped in %s, resumes to exactly the uninterrupted result', async (what, phase, epoch) => {
    const hyperparameters = { algorithm: 'mlp', epochs: '8', seed: '3' };
    const data = { train: { 'train.csv': csv(rings(300, 6)) } };
    const reference = await makeTree(hyperparameters, data);
    const expected = await runTraining(reference, { onEvent: () => {} });

    const paths = await makeTree(hyperparameters, data);
    const controller = new AbortController();
    const stopped = runTraining(paths, {
      signal: controller.signal,
      onEvent: (event) => {
        if (event.kind === 'batch' && event.phase === phase && event.epoch === epoch && event.batch === 1) controller.abort();
      },
    });
    await expect(stopped).rejects.toBeInstanceOf(TrainingStopped);
    const checkpoint = JSON.parse(await readFile(path.join(paths.checkpoints, 'checkpoint.json'), 'utf8'));
    expect(checkpoint).toMatchObject({ phase, position: { epoch: epoch - 1, batch: 1 } });

    const lines: string[] = [];
    const resumed = await runTraining(paths, { onEvent: logTrainingLines((l) => lines.push(l)) });
    expect(lines).toContain(`checkpoint: resuming ${what} at epoch ${epoch}, batch 2`);
    expect(resumed.history).toEqual(expected.history);
    expect(resumed.description.metrics).toEqual(expected.description.metrics);
    expect((await loadArtifact(paths.model)).onnx).toEqual((await loadArtifact(reference.model)).onnx);
    await rm(paths.root, { recursive: true, force: true });
    await rm(reference.root, { recursive: true, force: true });
  });
});
