/**
 * MODEL_RUNTIME_DEVICE=webgpu computes what the CPU computes: the same MLP, seed and batches,
 * trained on ONNX Runtime's WebGPU provider and on the CPU, give the same losses and weights.
 * Needs a WebGPU adapter; in CI that is Mesa's software Vulkan (lavapipe, Mesa 25 from
 * bookworm-backports, installed by .ci/run). Where there is none, the comparison is skipped with
 * the reason, and the refusal (never a silent CPU fallback) is checked instead.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { createSession } from '../../../model-runtime/src/engine/session.ts';
import { GraphBuilder } from '../../../model-runtime/src/graph/builder.ts';
import { toModelBytes } from '../../../model-runtime/src/graph/proto.ts';
import { createTrainableModel } from '../../../model-runtime/src/models/index.ts';
import { modelConfig, optimizerConfig, slice, xor } from '../models/fixtures.ts';

function probeModel(): Uint8Array {
  const g = new GraphBuilder('probe');
  g.output(g.add(g.input('x', 'float32', [2]), g.input('y', 'float32', [2])), 'z');
  return toModelBytes(g);
}

/** Why WebGPU cannot run here, or undefined when it can. */
async function webGpuUnavailable(): Promise<string | undefined> {
  try {
    const session = await ort.InferenceSession.create(probeModel(), { executionProviders: ['webgpu'] });
    await session.release();
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}

const unavailable = await webGpuUnavailable();
if (unavailable !== undefined) console.warn(`WebGPU comparison skipped: ${unavailable}`);

describe.runIf(unavailable === undefined)('MODEL_RUNTIME_DEVICE=webgpu', () => {
  test('trains an MLP to the same losses and weights as the CPU', async () => {
    const data = xor(96, 3);
    const model = modelConfig({ task: 'binary', hiddenSizes: [16], dropout: 0, seed: 7 });
    const optimizer = optimizerConfig({ name: 'sgd', momentum: 0.9, learningRate: 0.1, weightDecay: 0 });
    const run = async (device: 'cpu' | 'webgpu') => {
      const trainable = await createTrainableModel(model, optimizer, { device, intraOpNumThreads: 1, log: () => undefined });
      try {
        const losses: number[] = [];
        for (let s = 0; s < 6; s++) losses.push(await trainable.trainStep(slice(data, 0, 32)));
        return { losses, weights: Array.from(trainable.getState().tensors['fc1.weight']!.data as Float32Array) };
      } finally {
        await trainable.release();
      }
    };
    const cpu = await run('cpu');
    const gpu = await run('webgpu');
    gpu.losses.forEach((loss, s) => expect(loss).toBeCloseTo(cpu.losses[s]!, 5));
    gpu.weights.forEach((w, i) => expect(w).toBeCloseTo(cpu.weights[i]!, 5));
    expect(cpu.losses[5]).toBeLessThan(cpu.losses[0]!); // it learns (on one batch, the loss falls)
  });
});

describe.runIf(unavailable !== undefined)('MODEL_RUNTIME_DEVICE=webgpu without an adapter', () => {
  test('refuses, saying what would give one, instead of running on the CPU', async () => {
    const error = await createSession(probeModel(), { device: 'webgpu', intraOpNumThreads: 1, log: () => undefined }).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/MODEL_RUNTIME_DEVICE=webgpu, but the WebGPU execution provider failed to start: .*mesa-vulkan-drivers.*or set MODEL_RUNTIME_DEVICE=cpu/);
  });
});
