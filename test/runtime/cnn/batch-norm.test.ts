/**
 * batch_norm=true for the CNN classifiers: the running statistics follow torch's rule step by
 * step (against a float64 reference of the network) and no optimizer touches them; evaluation and
 * model.onnx normalise by them, before the pool, as the textbook order does; a batch-normalised
 * image classifier learns the shapes, serves what its evaluation graph computes, and resumes
 * after a stop to the same model.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageClassifierDescription } from '../../../model-runtime/src/artifact/model-description.ts';
import { createRandom } from '../../../model-runtime/src/data/random.ts';
import { audioClassifierSpec } from '../../../model-runtime/src/models/audio-classifier.ts';
import { cnnParameters, cnnRunningStatistics, type CnnConfig } from '../../../model-runtime/src/models/cnn.ts';
import { CLASS_PROBABILITIES, ConvClassifier, buildEvaluationGraph, type ConvClassifierSpec } from '../../../model-runtime/src/models/conv-classifier.ts';
import { IMAGE_INPUT, imageClassifierSpec } from '../../../model-runtime/src/models/image-classifier.ts';
import type { TrainingState } from '../../../model-runtime/src/models/trainable-model.ts';
import type { OptimizerConfig } from '../../../model-runtime/src/optim/optimizer-config.ts';
import { makeTree } from '../train/tree.ts';
import { SHAPES, drawShape, writeShapeFolders } from './generated-data.ts';
import { referenceForward } from './reference-cnn.ts';
import { expectResumedRunToMatch } from './stop-and-resume.ts';
import { trainAndServe, type TrainedServer } from './trained-server.ts';

/** Two blocks of two convs each: both a conv whose ReLU comes before the pool and one whose ReLU comes after it. */
const CONFIG: CnnConfig = { inputShape: [2, 6, 6], widths: [3, 4], convsPerBlock: 2, kernelSize: 3, denseUnits: 5, classes: 3, batchNorm: { momentum: 0.1 } };
const SPEC: ConvClassifierSpec = { inputName: 'x', exampleShape: CONFIG.inputShape, frontEnd: (_g, raw) => raw, cnn: CONFIG };
const CONVS = ['block0.conv0', 'block0.conv1', 'block1.conv0', 'block1.conv1'];
const BATCH = 4;

/** AdamW with a heavy weight decay: it would pull any tensor it updated towards 0. */
const ADAMW: OptimizerConfig = {
  name: 'adamw', learningRate: 0.05, momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.5, gradClip: 0,
  schedule: { kind: 'constant', warmupSteps: 0, totalSteps: 10 },
};

function uniform(n: number, seed: number, low = -1, high = 1): Float32Array {
  const random = createRandom(seed);
  return Float32Array.from({ length: n }, () => low + random() * (high - low));
}

function batchOf(seed: number): { size: number; x: Float32Array; y: Float32Array } {
  return { size: BATCH, x: uniform(BATCH * 2 * 6 * 6, seed, -2, 3), y: Float32Array.from({ length: BATCH }, (_, i) => (i + seed) % 3) };
}

const data = (state: TrainingState): Record<string, Float32Array> => Object.fromEntries(Object.entries(state.tensors).map(([name, t]) => [name, t.data]));

/** Every element of `actual` within `tolerance` x (1 + |expected|) of `expected`. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const worst = Math.max(...Array.from(actual, (a, i) => Math.abs(a - expected[i]!) / (1 + Math.abs(expected[i]!))));
  expect(worst, what).toBeLessThan(tolerance);
}

describe('batch normalisation in the CNN', () => {
  it("keeps each conv's running mean and variance as torch does, step after step, and no optimizer (or weight decay) touches them", async () => {
    const model = await ConvClassifier.create(SPEC, ADAMW, 5);
    try {
      const names = Object.keys(model.getState().tensors);
      expect(model.parameters.map((p) => p.name).filter((n) => n.startsWith('block0.conv0'))).toEqual(['block0.conv0.weight', 'block0.conv0.bn.weight', 'block0.conv0.bn.bias']);
      expect(names.filter((n) => n.includes('running'))).toEqual(CONVS.flatMap((c) => [`${c}.bn.running_mean`, `${c}.bn.running_var`]));
      expect(model.parameters.some((p) => p.name.includes('running'))).toBe(false);
      let before = data(model.getState());
      for (const c of CONVS) {
        expect(Array.from(before[`${c}.bn.running_mean`]!)).toEqual([...new Array<number>(before[`${c}.bn.running_mean`]!.length).fill(0)]);
        expect(Array.from(before[`${c}.bn.running_var`]!)).toEqual([...new Array<number>(before[`${c}.bn.running_var`]!.length).fill(1)]);
      }
      for (const seed of [11, 12]) {
        const batch = batchOf(seed);
        const reference = referenceForward(CONFIG, before, batch.x, BATCH, 'batch');
        await model.trainStep(batch);
        const after = data(model.getState());
        for (const c of CONVS) {
          const { mean, unbiasedVariance } = reference.batchStatistics[c]!;
          expectClose(after[`${c}.bn.running_mean`]!, mean.map((m, i) => 0.9 * before[`${c}.bn.running_mean`]![i]! + 0.1 * m), 1e-5, `${c} running mean after the step on batch ${seed}`);
          expectClose(after[`${c}.bn.running_var`]!, unbiasedVariance.map((v, i) => 0.9 * before[`${c}.bn.running_var`]![i]! + 0.1 * v), 1e-5, `${c} running variance after the step on batch ${seed}`);
        }
        // The scale is a parameter: AdamW moved it.
        expect(after['block0.conv0.bn.weight']).not.toEqual(before['block0.conv0.bn.weight']);
        before = after;
      }
    } finally {
      await model.release();
    }
  });

  it('evaluates and exports with the running statistics, normalising before the pool (a negative scale too), as Conv -> BatchNorm -> ReLU -> pool computes', async () => {
    const model = await ConvClassifier.create(SPEC, ADAMW, 6);
    try {
      const state = model.getState();
      const tensors: Record<string, { dims: readonly number[]; data: Float32Array }> = { ...state.tensors };
      CONVS.forEach((c, i) => {
        const width = state.tensors[`${c}.bn.weight`]!.dims[0]!;
        const set = (name: string, values: Float32Array) => (tensors[name] = { dims: [width], data: values });
        // Scales of both signs: a pool moved after a negative scale would keep each window's minimum.
        set(`${c}.bn.weight`, Float32Array.from(uniform(width, 100 + i, 0.5, 1.5), (v, k) => (k % 2 === 0 ? -v : v)));
        set(`${c}.bn.bias`, uniform(width, 200 + i, -0.5, 0.5));
        set(`${c}.bn.running_mean`, uniform(width, 300 + i, -0.5, 0.5));
        set(`${c}.bn.running_var`, uniform(width, 400 + i, 0.5, 2));
      });
      model.setState({ step: state.step, tensors });
      const values = data(model.getState());
      const batch = batchOf(21);
      const reference = referenceForward(CONFIG, values, batch.x, BATCH, 'running');
      // What the ReLU-after-pool order would get wrong if BatchNorm moved after the pool: the batch's own statistics differ, too.
      expect(referenceForward(CONFIG, values, batch.x, BATCH, 'batch').probabilities).not.toEqual(reference.probabilities);

      const feeds: Record<string, ort.Tensor> = {
        x: new ort.Tensor('float32', batch.x, [BATCH, ...CONFIG.inputShape]),
        y: new ort.Tensor('float32', batch.y, [BATCH]),
      };
      for (const p of [...cnnParameters(CONFIG), ...cnnRunningStatistics(CONFIG)]) feeds[p.name] = new ort.Tensor('float32', values[p.name]!, [...p.shape]);
      const evaluation = await ort.InferenceSession.create(buildEvaluationGraph(SPEC));
      const evaluated = (await evaluation.run(feeds))[CLASS_PROBABILITIES]!.data as Float32Array;
      await evaluation.release();
      expectClose(evaluated, reference.probabilities, 1e-5, 'evaluation graph against the float64 reference');

      const served = await ort.InferenceSession.create(model.exportInference());
      const exported = (await served.run({ x: feeds.x! }))[CLASS_PROBABILITIES]!.data as Float32Array;
      await served.release();
      expectClose(exported, reference.probabilities, 1e-5, 'model.onnx against the float64 reference');

      const loss = -Array.from(batch.y).reduce((s, y, i) => s + Math.log(reference.probabilities[i * 3 + y]!), 0) / BATCH;
      expect((await model.classify(batch)).loss).toBeCloseTo(loss, 5);
    } finally {
      await model.release();
    }
  });

  it("gives the audio classifier's CNN the same layers: model.onnx's BatchNormalization nodes hold the running statistics as initializers", async () => {
    const samples = 2000;
    const spec = audioClassifierSpec({ samples, spectrogram: { sampleRate: 8000, nFft: 256, hopLength: 128, nMels: 16 }, cnn: { widths: [4, 4], convsPerBlock: 1, kernelSize: 3, denseUnits: 0, classes: 2, batchNorm: { momentum: 0.5 } } });
    const model = await ConvClassifier.create(spec, ADAMW, 7);
    try {
      await model.trainStep({ size: 3, x: uniform(3 * samples, 8, -0.5, 0.5), y: Float32Array.of(0, 1, 1) });
      const graph = onnxProto.onnx.ModelProto.decode(model.exportInference()).graph!;
      const initializers = new Map(graph.initializer!.map((t) => [t.name!, new Float32Array(Uint8Array.from(t.rawData!).buffer)]));
      const norms = graph.node!.filter((n) => n.opType === 'BatchNormalization');
      expect(norms.map((n) => n.input!.slice(3))).toEqual([
        ['block0.conv0.bn.running_mean', 'block0.conv0.bn.running_var'],
        ['block1.conv0.bn.running_mean', 'block1.conv0.bn.running_var'],
      ]);
      for (const [name, value] of Object.entries(model.runningStatistics())) expect(initializers.get(name)).toEqual(value.data);
      // One step at momentum 0.5 moved them halfway to the batch's statistics.
      expect(Array.from(initializers.get('block0.conv0.bn.running_mean')!).some((v) => v !== 0)).toBe(true);
      expect(graph.node!.filter((n) => n.opType === 'Conv').every((n) => n.input!.length === 2 || n.input![2] === '')).toBe(true);
    } finally {
      await model.release();
    }
  });
});

const HP = {
  algorithm: 'image-classifier', image_size: '16', conv_widths: '8,16', dense_units: '32', epochs: '8', batch_size: '16', learning_rate: '0.003',
  validation_fraction: '0.2', seed: '1', top_k: '3', batch_norm: 'true',
};

describe('image-classifier with batch_norm=true', () => {
  let trained: TrainedServer;

  beforeAll(async () => {
    trained = await trainAndServe(HP, (dir) => writeShapeFolders(dir, 40, 16, 3, 1));
  }, 120_000);

  afterAll(() => trained?.close());

  it('learns bar, disc and ring to at least 90% validation accuracy and records the hyperparameters', () => {
    expect(trained.result.description.metrics.validation_accuracy).toBeGreaterThanOrEqual(0.9);
    expect(trained.result.description.hyperparameters).toMatchObject({ batch_norm: 'true', batch_norm_momentum: '0.1' });
  });

  it("serves exactly what the evaluation graph computes from model.onnx's weights and running statistics", async () => {
    const description = trained.result.description as ImageClassifierDescription;
    const cnn: CnnConfig = { inputShape: [3, 16, 16], widths: [8, 16], convsPerBlock: 1, kernelSize: 3, denseUnits: 32, classes: 3, batchNorm: { momentum: 0.1 } };
    const spec = imageClassifierSpec({ height: 16, width: 16, channels: 3, channelMean: description.image.channelMean, channelStd: description.image.channelStd, cnn });
    const graph = onnxProto.onnx.ModelProto.decode(await readFile(path.join(trained.paths.model, 'model.onnx'))).graph!;
    const initializers = new Map(graph.initializer!.map((t) => [t.name!, new Float32Array(Uint8Array.from(t.rawData!).buffer)]));
    for (const s of cnnRunningStatistics(cnn)) expect(initializers.has(s.name), s.name).toBe(true);
    expect(Array.from(initializers.get('block1.conv0.bn.running_var')!).some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);

    const images = SHAPES.flatMap((kind, k) => [drawShape(kind, 16, 3, 9500 + k), drawShape(kind, 16, 3, 9600 + k)]);
    const feeds: Record<string, ort.Tensor> = {
      [IMAGE_INPUT]: new ort.Tensor('float32', Float32Array.from(images.flatMap((p) => Array.from(p))), [images.length, 16, 16, 3]),
      y: new ort.Tensor('float32', new Float32Array(images.length), [images.length]),
    };
    for (const p of [...cnnParameters(cnn), ...cnnRunningStatistics(cnn)]) feeds[p.name] = new ort.Tensor('float32', initializers.get(p.name)!, [...p.shape]);
    const evaluation = await ort.InferenceSession.create(buildEvaluationGraph(spec));
    const expected = (await evaluation.run(feeds))[CLASS_PROBABILITIES]!.data as Float32Array;
    await evaluation.release();

    let correct = 0;
    for (const [i, pixels] of images.entries()) {
      const nested = Array.from({ length: 16 }, (_, y) => Array.from({ length: 16 }, (_, x) => Array.from(pixels.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3))));
      const answer = await trained.post(JSON.stringify(nested), 'application/json');
      expect(answer.status).toBe(200);
      const scores = answer.json as { label: string; score: number }[];
      expect(scores).toHaveLength(3);
      for (const { label, score } of scores) expect(score).toBeCloseTo(expected[i * 3 + SHAPES.indexOf(label as (typeof SHAPES)[number])]!, 5);
      if (scores[0]!.label === SHAPES[Math.floor(i / 2)]) correct++;
    }
    expect(correct).toBeGreaterThanOrEqual(5);
  });

  it('resumes after a stop to the same model: the checkpoint carries the running statistics', async () => {
    const hp = { ...HP, image_size: '12', conv_widths: '4,8', epochs: '2', batch_size: '8', checkpoint_every_steps: '3', batch_norm_momentum: '0.3' };
    const make = async () => {
      const tree = await makeTree(hp, {});
      await writeShapeFolders(tree.channel('train'), 12, 12, 3, 2);
      return tree;
    };
    await expectResumedRunToMatch(make);
  }, 60_000);
});
