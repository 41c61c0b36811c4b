/**
 * Determinism under the seed (weights, dropout masks, losses), exact resume from getState, the
 * learning-rate schedule, and configuration errors that name the bad value.
 */
import { describe, expect, test } from 'vitest';
import { createTrainableModel } from '../../../model-runtime/src/models/index.ts';
import { learningRateAt } from '../../../model-runtime/src/optim/schedule.ts';
import type { ModelConfig } from '../../../model-runtime/src/models/trainable-model.ts';
import type { OptimizerConfig } from '../../../model-runtime/src/optim/optimizer-config.ts';
import { fit, modelConfig, optimizerConfig, slice, xor } from './fixtures.ts';

const cpu = { device: 'cpu', intraOpNumThreads: 1 } as const;
const data = xor(128, 4);
const model = modelConfig({ task: 'binary', hiddenSizes: [8, 8], dropout: 0.3, seed: 42 });

async function lossesOf(m: ModelConfig, o: OptimizerConfig, steps: number): Promise<{ losses: number[]; weights: Float32Array }> {
  const trainable = await createTrainableModel(m, o, cpu);
  const initial = Float32Array.from(trainable.getState().tensors['fc1.weight']!.data);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push(await trainable.trainStep(slice(data, (s * 16) % data.rows, 16)));
  await trainable.release();
  return { losses, weights: initial };
}

describe('determinism', () => {
  test('the same seed gives identical initial weights and identical losses (with dropout and Adam)', async () => {
    const a = await lossesOf(model, optimizerConfig(), 12);
    const b = await lossesOf(model, optimizerConfig(), 12);
    expect(b.weights).toEqual(a.weights);
    expect(b.losses).toEqual(a.losses);
    const c = await lossesOf({ ...model, seed: 43 }, optimizerConfig(), 12);
    expect(c.weights).not.toEqual(a.weights);
    expect(c.losses).not.toEqual(a.losses);
  });

  test('a model resumed from getState continues exactly like the uninterrupted one', async () => {
    const o = optimizerConfig({ name: 'sgd', momentum: 0.9, learningRate: 0.05, weightDecay: 1e-3 });
    const first = await createTrainableModel(model, o, cpu);
    await fit(data, 16, 1, (b) => first.trainStep(b));
    expect(first.step).toBe(8);
    const saved = first.getState();
    expect(saved.step).toBe(8);
    expect(Object.keys(saved.tensors)).toContain('fc1.weight.momentum');
    const continued: number[] = [];
    await fit(data, 16, 1, async (b) => { const l = await first.trainStep(b); continued.push(l); return l; });
    await first.release();

    const resumed = await createTrainableModel(model, o, cpu);
    resumed.setState(saved);
    expect(resumed.step).toBe(8); // the checkpoint cadence counts from the restored step
    const again: number[] = [];
    await fit(data, 16, 1, async (b) => { const l = await resumed.trainStep(b); again.push(l); return l; });
    expect(again).toEqual(continued);
    expect(() => resumed.setState({ step: 0, tensors: { 'fc1.weight': saved.tensors['fc1.weight']! } })).toThrow(/missing \[fc1\.weight\.momentum, fc1\.bias,/);
    await resumed.release();
  });

  test('evaluate uses no dropout: it is repeatable and leaves the parameters alone', async () => {
    const m = await createTrainableModel(model, optimizerConfig(), cpu);
    const before = m.getState();
    const e1 = await m.evaluate(slice(data, 0, 64));
    const e2 = await m.evaluate(slice(data, 0, 64));
    expect(e2).toEqual(e1);
    expect(m.getState()).toEqual(before);
    await m.release();
  });
});

describe('learning-rate schedule', () => {
  const o = (kind: 'constant' | 'cosine', warmupSteps: number): OptimizerConfig =>
    optimizerConfig({ learningRate: 0.1, schedule: { kind, warmupSteps, totalSteps: 110 } });
  test('linear warm-up, then constant or cosine decay to zero', () => {
    expect(learningRateAt(o('constant', 10), 0)).toBeCloseTo(0.01, 12);
    expect(learningRateAt(o('constant', 10), 9)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(o('constant', 10), 500)).toBe(0.1);
    expect(learningRateAt(o('cosine', 10), 10)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(o('cosine', 10), 60)).toBeCloseTo(0.05, 12);
    expect(learningRateAt(o('cosine', 10), 110)).toBeCloseTo(0, 12);
    expect(learningRateAt(o('cosine', 0), 0)).toBeCloseTo(0.1, 12);
  });
});

describe('configuration errors name the value and its range', () => {
  test.each([
    [{ dropout: 1 }, {}, /dropout must be in \[0, 1\), got 1/],
    [{ hiddenSizes: [0] }, {}, /hidden_sizes must be one or more positive integers/],
    [{ algorithm: 'linear-regression', task: 'binary' }, {}, /linear-regression needs task regression/],
    [{ task: 'multiclass', outputSize: 1 }, {}, /number of classes\) must be an integer >= 2/],
    [{}, { learningRate: -1 }, /learning_rate must be in \(0, 10\], got -1/],
    [{}, { name: 'rmsprop' }, /optimizer 'rmsprop' is unknown; use one of sgd, adam, adamw/],
    [{}, { momentum: 1.5 }, /momentum must be in \[0, 1\)/],
  ] as [Partial<ModelConfig>, Partial<OptimizerConfig>, RegExp][])('%o %o', async (m, o, message) => {
    await expect(createTrainableModel(modelConfig(m), optimizerConfig(o), cpu)).rejects.toThrow(message);
  });

  test('a batch of the wrong size is refused with the sizes', async () => {
    const m = await createTrainableModel(modelConfig({}), optimizerConfig(), cpu);
    await expect(m.trainStep({ size: 2, x: new Float32Array(3), y: new Float32Array(2) })).rejects.toThrow(/batch x has 3 values; 2 rows x 2 features need 4/);
    await m.release();
  });
});
