/**
 * grad_clip: the update a step makes is computed from gradients scaled down to that global L2
 * norm. With plain SGD (lr 1, no momentum, no decay) the step's parameter change is the negative
 * gradient itself, so its global norm is the clipped norm exactly; without clipping it is larger.
 */
import { describe, expect, test } from 'vitest';
import { createTrainableModel } from '../../../model-runtime/src/models/index.ts';
import { modelConfig, optimizerConfig, slice, xor } from './fixtures.ts';

const data = xor(64, 5);
const model = modelConfig({ task: 'binary', hiddenSizes: [16], dropout: 0, seed: 3 });

/** Global L2 norm of the parameter change one SGD step makes with the given grad_clip. */
async function stepNorm(gradClip: number): Promise<number> {
  const trainable = await createTrainableModel(model, optimizerConfig({ name: 'sgd', learningRate: 1, momentum: 0, weightDecay: 0, gradClip }), { device: 'cpu', intraOpNumThreads: 1 });
  try {
    const before = trainable.getState().tensors;
    await trainable.trainStep(slice(data, 0, 64));
    const after = trainable.getState().tensors;
    let squares = 0;
    // Plain SGD without momentum keeps no optimizer state: every tensor is a parameter.
    expect(Object.keys(before).sort()).toEqual(['fc1.bias', 'fc1.weight', 'out.bias', 'out.weight']);
    for (const name of Object.keys(before)) {
      const a = before[name]!.data as Float32Array;
      const b = after[name]!.data as Float32Array;
      for (let i = 0; i < a.length; i++) squares += (b[i]! - a[i]!) ** 2;
    }
    return Math.sqrt(squares);
  } finally {
    await trainable.release();
  }
}

describe('grad_clip', () => {
  test('scales the update to the clip norm when the gradients are larger, and leaves it alone when they are not', async () => {
    const unclipped = await stepNorm(0);
    expect(unclipped).toBeGreaterThan(0.05);
    expect(await stepNorm(0.05)).toBeCloseTo(0.05, 4);
    expect(await stepNorm(unclipped * 2)).toBeCloseTo(unclipped, 4);
  });

  test('a negative grad_clip is refused, naming it', async () => {
    await expect(createTrainableModel(model, optimizerConfig({ gradClip: -1 }), { device: 'cpu', intraOpNumThreads: 1 })).rejects.toThrow(/grad_clip must be a number >= 0 \(0 = off\), got -1/);
  });
});
