/**
 * GraphTrainer drives any training graph built with training-step.ts. For a graph with seeded
 * in-graph dropout it feeds the run's seed and the step itself: the masks change from step to
 * step, and a run resumed from a checkpoint draws the masks (and so the losses) the
 * uninterrupted run drew.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { GraphBuilder } from '../../../model-runtime/src/graph/builder.ts';
import { dropout, dropoutKey } from '../../../model-runtime/src/graph/dropout.ts';
import { toModelBytes } from '../../../model-runtime/src/graph/proto.ts';
import type { Value } from '../../../model-runtime/src/graph/types.ts';
import { DROPOUT_SEED_INPUT, DROPOUT_STEP_INPUT, GraphTrainer } from '../../../model-runtime/src/models/graph-trainer.ts';
import type { ParameterSpec } from '../../../model-runtime/src/models/network.ts';
import { LOSS, appendTrainingStep, declareTrainingInputs } from '../../../model-runtime/src/models/training-step.ts';
import { optimizerConfig } from './fixtures.ts';

const parameters: ParameterSpec[] = [{ name: 'w', shape: [64], init: 'glorot-uniform' }];

/** loss = mean((dropout(w * x) - 1)^2), dropout 0.5 when training. */
function graphs(learningRate: number) {
  const optimizer = optimizerConfig({ name: 'adamw', learningRate, weightDecay: 0.01, gradClip: 1 });
  const forward = (g: GraphBuilder, train: boolean, w: Value): Value => {
    const x = g.input('x', 'float32', [64]);
    const key = train ? dropoutKey(g, g.input(DROPOUT_SEED_INPUT, 'int64', []), g.input(DROPOUT_STEP_INPUT, 'int64', [])) : null;
    const h = dropout(g, g.mul(w, x), train ? 0.5 : 0, key, 0);
    const d = g.sub(h, g.scalar(1, 'float32'));
    return g.reduceMean(g.mul(d, d), [0], false);
  };
  const train = new GraphBuilder('train');
  const inputs = declareTrainingInputs(train, parameters, optimizer);
  appendTrainingStep(train, forward(train, true, inputs.params.w!), parameters, inputs, optimizer);
  const evaluation = new GraphBuilder('eval');
  const w = evaluation.input('w', 'float32', [64]);
  evaluation.output(forward(evaluation, false, w), LOSS);
  return { optimizer, trainingGraph: toModelBytes(train), evaluationGraph: toModelBytes(evaluation) };
}

const batch = { x: new ort.Tensor('float32', Float32Array.from({ length: 64 }, (_, i) => 1 + i / 64), [64]) };
const engine = { device: 'cpu' as const, intraOpNumThreads: 1 };

async function trainer(learningRate: number, seed = 7): Promise<GraphTrainer> {
  return GraphTrainer.create({ parameters, ...graphs(learningRate), seed, engine });
}

describe('GraphTrainer', () => {
  test('feeds seed and step to in-graph dropout: with the weights frozen (lr 0) the loss still changes every step', async () => {
    const t = await trainer(0);
    try {
      const losses = [await t.trainStep(batch), await t.trainStep(batch), await t.trainStep(batch)];
      expect(new Set(losses).size).toBe(3);
      expect(t.step).toBe(3);
    } finally {
      await t.release();
    }
  });

  test('a run resumed from getState() continues with the losses and weights of the uninterrupted run', async () => {
    const whole = await trainer(0.05);
    const first = await trainer(0.05);
    const resumed = await trainer(0.05);
    try {
      const expected = [];
      for (let i = 0; i < 5; i++) expected.push(await whole.trainStep(batch));
      const got = [await first.trainStep(batch), await first.trainStep(batch)];
      resumed.setState(first.getState());
      for (let i = 0; i < 3; i++) got.push(await resumed.trainStep(batch));
      expect(got).toEqual(expected);
      expect(resumed.parameterValues().w!.data).toEqual(whole.parameterValues().w!.data);
      // Evaluation runs the graph without dropout, on the current weights.
      const evaluated = await resumed.evaluate(batch);
      expect((evaluated[LOSS] as ort.Tensor).data[0]).toBeLessThan(expected[0]!);
    } finally {
      await Promise.all([whole.release(), first.release(), resumed.release()]);
    }
  });

  test('another seed draws other weights and other masks', async () => {
    const a = await trainer(0, 7);
    const b = await trainer(0, 8);
    try {
      expect(a.parameterValues().w!.data).not.toEqual(b.parameterValues().w!.data);
    } finally {
      await Promise.all([a.release(), b.release()]);
    }
  });

  test('a state of another shape is refused with the tensor named', async () => {
    const t = await trainer(0);
    try {
      const state = t.getState();
      expect(() => t.setState({ step: 0, tensors: { ...state.tensors, w: { dims: [3], data: new Float32Array(3) } } })).toThrow(/tensor w has shape \[3\], this model needs \[64\]/);
    } finally {
      await t.release();
    }
  });
});
