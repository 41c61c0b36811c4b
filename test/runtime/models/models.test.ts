/**
 * The models train: linear regression recovers known weights, logistic regression and the MLP
 * reach stated accuracies on synthetic data, and the exported inference graph computes the
 * same thing as the training-time evaluation graph.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { createTrainableModel } from '../../../model-runtime/src/models/index.ts';
import type { TrainableModel } from '../../../model-runtime/src/models/trainable-model.ts';
import { all, blobs, fit, linearData, modelConfig, optimizerConfig, xor } from './fixtures.ts';

const cpu = { device: 'cpu', intraOpNumThreads: 1 } as const;

async function withModel<T>(model: Promise<TrainableModel>, use: (m: TrainableModel) => Promise<T>): Promise<T> {
  const m = await model;
  try {
    return await use(m);
  } finally {
    await m.release();
  }
}

async function runInference(onnx: Uint8Array, x: Float32Array, features: number): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(onnx);
  try {
    const out = await session.run({ features: new ort.Tensor('float32', x, [x.length / features, features]) });
    return out.output as ort.Tensor;
  } finally {
    await session.release();
  }
}

describe('linear regression', () => {
  test('recovers the weights and bias of noisy linear data', async () => {
    const data = linearData(512, [2, -3, 0.5], 1.5, 0.1, 11);
    await withModel(
      createTrainableModel(
        modelConfig({ algorithm: 'linear-regression', inputSize: 3 }),
        optimizerConfig({ name: 'sgd', learningRate: 0.05, momentum: 0.9 }),
        cpu,
      ),
      async (m) => {
        await fit(data, 32, 10, (b) => m.trainStep(b));
        const state = m.getState();
        const w = Array.from(state.tensors['linear.weight']!.data);
        expect(w[0]).toBeCloseTo(2, 1);
        expect(w[1]).toBeCloseTo(-3, 1);
        expect(w[2]).toBeCloseTo(0.5, 1);
        expect(state.tensors['linear.bias']!.data[0]).toBeCloseTo(1.5, 1);
        const evaluation = await m.evaluate(all(data));
        // Noise variance is 0.01: the fit's MSE should be about that.
        expect(evaluation.loss).toBeLessThan(0.015);
        expect(evaluation.sumSquaredError! / data.rows).toBeCloseTo(evaluation.loss, 5);
        expect(evaluation.correct).toBeNull();
      },
    );
  });

  test('the exported graph standardises features and de-standardises the target', async () => {
    const data = linearData(256, [1, 2], 0.5, 0.05, 3);
    await withModel(createTrainableModel(modelConfig({ algorithm: 'linear-regression' }), optimizerConfig({ learningRate: 0.05 }), cpu), async (m) => {
      await fit(data, 32, 5, (b) => m.trainStep(b));
      const pre = { featureMean: [10, -4], featureStd: [2, 0.5], targetMean: [100], targetStd: [3] };
      // Raw rows are the standardised training rows mapped back to "raw units".
      const raw = data.x.map((v, i) => v * pre.featureStd[i % 2]! + pre.featureMean[i % 2]!);
      const output = await runInference(m.exportInference(pre), raw, 2);
      expect(output.dims).toEqual([data.rows, 1]);
      const pred = output.data as Float32Array;
      let sse = 0;
      for (let r = 0; r < data.rows; r++) sse += ((pred[r]! - 100) / 3 - data.y[r]!) ** 2;
      const evaluation = await m.evaluate(all(data));
      expect(sse).toBeCloseTo(evaluation.sumSquaredError!, 2);
    });
  });
});

describe('logistic regression', () => {
  test('binary: separates two blobs with >= 95% accuracy; exported probabilities agree with evaluate', async () => {
    const data = blobs(400, 2, 2.5, 5);
    await withModel(
      createTrainableModel(modelConfig({ algorithm: 'logistic-regression', task: 'binary' }), optimizerConfig({ learningRate: 0.1 }), cpu),
      async (m) => {
        await fit(data, 32, 5, (b) => m.trainStep(b));
        const evaluation = await m.evaluate(all(data));
        expect(evaluation.correct! / data.rows).toBeGreaterThanOrEqual(0.95);

        const identity = { featureMean: [0, 0], featureStd: [1, 1], targetMean: null, targetStd: null };
        const output = await runInference(m.exportInference(identity), data.x, 2);
        expect(output.dims).toEqual([data.rows, 2]);
        const p = output.data as Float32Array;
        let loss = 0;
        let correct = 0;
        for (let r = 0; r < data.rows; r++) {
          expect(p[2 * r]! + p[2 * r + 1]!).toBeCloseTo(1, 6);
          const label = data.y[r]!;
          loss -= Math.log(Math.max(p[2 * r + label]!, 1e-30));
          if ((p[2 * r + 1]! > 0.5 ? 1 : 0) === label) correct++;
        }
        expect(loss / data.rows).toBeCloseTo(evaluation.loss, 4);
        expect(correct).toBe(evaluation.correct);
      },
    );
  });

  test('multiclass: separates four blobs with >= 90% accuracy; exported softmax agrees with evaluate', async () => {
    const data = blobs(600, 4, 3, 8);
    await withModel(
      createTrainableModel(modelConfig({ algorithm: 'logistic-regression', task: 'multiclass', outputSize: 4 }), optimizerConfig({ learningRate: 0.05 }), cpu),
      async (m) => {
        await fit(data, 64, 8, (b) => m.trainStep(b));
        const evaluation = await m.evaluate(all(data));
        expect(evaluation.correct! / data.rows).toBeGreaterThanOrEqual(0.9);
        const output = await runInference(m.exportInference({ featureMean: [0, 0], featureStd: [1, 1], targetMean: null, targetStd: null }), data.x, 2);
        expect(output.dims).toEqual([data.rows, 4]);
        const p = output.data as Float32Array;
        let loss = 0;
        for (let r = 0; r < data.rows; r++) loss -= Math.log(p[4 * r + data.y[r]!]!);
        expect(loss / data.rows).toBeCloseTo(evaluation.loss, 4);
      },
    );
  });
});

describe('mlp', () => {
  test('learns XOR (which no linear model can) to >= 95% accuracy, with dropout', async () => {
    const data = xor(512, 21);
    await withModel(
      createTrainableModel(
        modelConfig({ task: 'binary', hiddenSizes: [32, 32], activation: 'tanh', dropout: 0.1 }),
        optimizerConfig({ name: 'adamw', learningRate: 0.02, weightDecay: 0.01, schedule: { kind: 'cosine', warmupSteps: 10, totalSteps: 320 } }),
        cpu,
      ),
      async (m) => {
        await fit(data, 32, 20, (b) => m.trainStep(b));
        const evaluation = await m.evaluate(all(data));
        expect(evaluation.correct! / data.rows).toBeGreaterThanOrEqual(0.95);
      },
    );
    // The same data defeats logistic regression (about chance).
    await withModel(createTrainableModel(modelConfig({ algorithm: 'logistic-regression', task: 'binary' }), optimizerConfig(), cpu), async (m) => {
      await fit(data, 32, 5, (b) => m.trainStep(b));
      expect((await m.evaluate(all(data))).correct! / data.rows).toBeLessThan(0.75);
    });
  });

  test('regression: fits y = sin(3 x) to MSE < 0.02 with SGD + momentum', async () => {
    const rows = 256;
    const x = Float32Array.from({ length: rows }, (_, i) => (2 * i) / rows - 1);
    const data = { rows, features: 1, x, y: x.map((v) => Math.sin(3 * v)), targets: 1 };
    await withModel(
      createTrainableModel(modelConfig({ inputSize: 1, hiddenSizes: [32, 32], activation: 'relu' }), optimizerConfig({ name: 'sgd', learningRate: 0.05, momentum: 0.9 }), cpu),
      async (m) => {
        // Shuffle-free but interleaved order: stride through x so batches cover the range.
        const order = Array.from({ length: rows }, (_, i) => ((i * 37) % rows));
        const shuffled = { ...data, x: Float32Array.from(order, (i) => x[i]!), y: Float32Array.from(order, (i) => data.y[i]!) };
        await fit(shuffled, 32, 60, (b) => m.trainStep(b));
        expect((await m.evaluate(all(data))).loss).toBeLessThan(0.02);
      },
    );
  });
});
