/**
 * The GPT decoder: the whole model's loss passes a float64 gradient check (the tied embedding
 * collects the lookup's and the head's gradients); the exported model.onnx has Hugging Face's
 * input and output names and shapes, and feeding it a prompt in pieces through
 * past_key_values gives the logits of one pass (positions continue from the cache's length);
 * a few training steps lower the loss.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { createRandom } from '../../../model-runtime/src/data/random.ts';
import type { GptConfig } from '../../../model-runtime/src/models/gpt.ts';
import {
  buildGptEvaluationGraph,
  buildGptInferenceGraph,
  buildGptTrainingGraph,
  gptForward,
  gptParameters,
  languageModelLoss,
} from '../../../model-runtime/src/models/gpt.ts';
import { GraphTrainer } from '../../../model-runtime/src/models/graph-trainer.ts';
import type { TensorValues } from '../../../model-runtime/src/models/graph-trainer.ts';
import { initialValues } from '../../../model-runtime/src/models/init.ts';
import type { OptimizerConfig } from '../../../model-runtime/src/optim/optimizer-config.ts';
import { gradCheck } from '../graph/gradcheck.ts';

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const uniform = (n: number, seed: number, scale: number): number[] => {
  const random = createRandom(seed);
  return Array.from({ length: n }, () => (random() * 2 - 1) * scale);
};
const int64 = (values: readonly number[], dims: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);

/** Weights at GPT-2's initialisation, enlarged so that the logits are far from uniform. */
function weights(config: GptConfig, seed: number): TensorValues {
  const random = createRandom(seed);
  return Object.fromEntries(gptParameters(config).map((p) => [p.name, { dims: p.shape, data: initialValues(p.init, p.shape, random).map((v) => (typeof p.init === 'object' ? v * 15 : v)) }]));
}

const adamw: OptimizerConfig = {
  name: 'adamw', learningRate: 3e-3, momentum: 0, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1, gradClip: 1,
  schedule: { kind: 'constant', warmupSteps: 0, totalSteps: 100 },
};

describe('GPT', () => {
  test('float64 gradient check of the loss with respect to every parameter, tied head included', async () => {
    const config: GptConfig = { vocabSize: 5, contextLength: 4, nLayer: 2, nHead: 2, nEmbd: 4, bias: true, dropout: 0 };
    const params = gptParameters(config);
    expect(params.map((p) => p.name)).not.toContain('lm_head.weight');
    const result = await gradCheck(
      params.map((p, i) => ({ shape: p.shape, values: p.name.includes('ln_') ? uniform(size(p.shape), i, 0.5).map((v) => v + 1) : uniform(size(p.shape), i, 0.7) })),
      (g, values) => {
        const byName = Object.fromEntries(params.map((p, i) => [p.name, values[i]!]));
        const ids = g.initializer('ids', { dtype: 'int64', dims: [2, 4], values: [0, 3, 1, 4, 2, 2, 0, 1] });
        const targets = g.initializer('targets', { dtype: 'int64', dims: [2, 4], values: [3, 1, 4, 0, 2, 0, 1, 3] });
        const { logits } = gptForward(g, ids, byName, config, { attentionMask: null, positionIds: null, past: null, dropoutKey: null });
        return languageModelLoss(g, logits, targets);
      },
    );
    expect(result.maxError).toBeLessThan(1e-6);
    // wte's gradient has both the lookup's part (rows of ids used) and the head's (every row).
    const wte = result.analytic[0]!;
    expect(Math.min(...Array.from({ length: 5 }, (_, row) => Math.max(...wte.slice(row * 4, row * 4 + 4).map(Math.abs))))).toBeGreaterThan(1e-4);
  }, 60_000);

  test("model.onnx takes Hugging Face's inputs, and a prompt fed in pieces through the cache gives the one-pass logits", async () => {
    const config: GptConfig = { vocabSize: 11, contextLength: 8, nLayer: 2, nHead: 2, nEmbd: 8, bias: false, dropout: 0 };
    const session = await ort.InferenceSession.create(buildGptInferenceGraph(config, weights(config, 1)), { intraOpNumThreads: 1 });
    try {
      expect(session.inputNames).toEqual(['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value']);
      expect(session.outputNames).toEqual(['logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
      const prompt = [3, 1, 4, 1, 5, 9, 2];
      const empty = (): ort.Tensor => new ort.Tensor('float32', new Float32Array(0), [1, 2, 0, 4]);
      const run = async (ids: number[], past: ort.Tensor[]): Promise<ort.InferenceSession.ReturnType> => {
        const pastLength = past[0]!.dims[2] ?? 0;
        const feeds: Record<string, ort.Tensor> = {
          input_ids: int64(ids, [1, ids.length]),
          attention_mask: int64(new Array<number>(pastLength + ids.length).fill(1), [1, pastLength + ids.length]),
          position_ids: int64(ids.map((_, i) => pastLength + i), [1, ids.length]),
        };
        past.forEach((t, i) => (feeds[`past_key_values.${i >> 1}.${i % 2 === 0 ? 'key' : 'value'}`] = t));
        return session.run(feeds);
      };
      const whole = await run(prompt, [empty(), empty(), empty(), empty()]);
      expect(whole.logits!.dims).toEqual([1, 7, 11]);
      expect(whole['present.1.value']!.dims).toEqual([1, 2, 7, 4]);
      const first = await run(prompt.slice(0, 4), [empty(), empty(), empty(), empty()]);
      const presents = (out: ort.InferenceSession.ReturnType): ort.Tensor[] => ['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value'].map((n) => out[n]!);
      const second = await run(prompt.slice(4, 6), presents(first));
      const third = await run(prompt.slice(6), presents(second));
      const pieces = [...first.logits!.data as Float32Array, ...second.logits!.data as Float32Array, ...third.logits!.data as Float32Array];
      const full = Array.from(whole.logits!.data as Float32Array);
      expect(Math.max(...pieces.map((v, i) => Math.abs(v - full[i]!)))).toBeLessThan(1e-5);
      // Not trivially equal: the logits vary with the position.
      expect(Math.max(...full.slice(0, 11).map((v, i) => Math.abs(v - full[11 + i]!)))).toBeGreaterThan(1e-2);
    } finally {
      await session.release();
    }
  });

  test('training steps through GraphTrainer lower the loss on a repeated sequence, and the evaluation graph sees it too', async () => {
    const config: GptConfig = { vocabSize: 7, contextLength: 8, nLayer: 1, nHead: 2, nEmbd: 16, bias: true, dropout: 0.1 };
    const trainer = await GraphTrainer.create({
      parameters: gptParameters(config), optimizer: adamw, seed: 3,
      trainingGraph: buildGptTrainingGraph(config, adamw), evaluationGraph: buildGptEvaluationGraph(config),
      engine: { intraOpNumThreads: 1, log: () => {} },
    });
    try {
      const text = Array.from({ length: 40 }, (_, i) => i % 7);
      const batch = { input_ids: int64([...text.slice(0, 8), ...text.slice(3, 11)], [2, 8]), targets: int64([...text.slice(1, 9), ...text.slice(4, 12)], [2, 8]) };
      const evalLoss = async (): Promise<number> => ((await trainer.evaluate(batch)).loss!.data as Float32Array)[0]!;
      const before = await evalLoss();
      expect(before).toBeGreaterThan(Math.log(7) - 0.3);
      let last = 0;
      for (let i = 0; i < 60; i++) last = await trainer.trainStep(batch);
      expect(last).toBeLessThan(0.5);
      expect(await evalLoss()).toBeLessThan(before / 4);
    } finally {
      await trainer.release();
    }
  });
});
