import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { saveArtifact } from '../../model-runtime/src/artifact/save.ts';
import { InferenceModel } from '../../model-runtime/src/serve/inference-model.ts';
import { denseNetworkOnnx, describeModel } from './fixtures/onnx-models.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-inference-model-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('InferenceModel.load', () => {
  it('refuses a model.onnx that takes another feature count than model.json lists, and releases its session', async () => {
    const dir = path.join(work, 'mismatch');
    // model.onnx reads 3 features per row; model.json names 2. Before: it loaded, /ping said 200 and
    // every request got a 500 from ONNX Runtime ("Got invalid dimensions").
    await saveArtifact(dir, { 'model.onnx': denseNetworkOnnx([{ weights: [[1], [2], [3]], bias: [0] }], false) }, describeModel({
      algorithm: 'linear-regression',
      task: 'regression',
      features: ['x1', 'x2'],
      targets: ['y'],
      labels: null,
    }));
    // The typings name only the factory; at run time InferenceSession is the class whose instances load() gets.
    const sessionClass = ort.InferenceSession as unknown as { prototype: ort.InferenceSession };
    const release = vi.spyOn(sessionClass.prototype, 'release');
    try {
      await expect(InferenceModel.load(dir, { threads: 1 })).rejects.toThrow(
        "model.onnx input 'features' takes 3 values per row, but model.json lists 2 features (x1, x2)",
      );
      expect(release).toHaveBeenCalledTimes(1);
    } finally {
      release.mockRestore();
    }
  });
});
