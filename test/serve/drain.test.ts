import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceModel } from '../../model-runtime/src/serve/inference-model.ts';
import { InferenceServer } from '../../model-runtime/src/serve/server.ts';
import { TabularModel } from '../../model-runtime/src/serve/tabular-model.ts';
import { fixtureArtifacts, type FixtureArtifacts } from './fixtures/local-server.ts';

let artifacts: FixtureArtifacts;
beforeAll(async () => {
  artifacts = await fixtureArtifacts();
});
afterAll(async () => {
  await artifacts.remove();
});

describe('InferenceServer.drain', () => {
  it('releases the ONNX session of a model that was still loading when the server was stopped', async () => {
    // The load finishes only after drain() has begun, as when SIGTERM arrives during a slow load.
    let finishLoading!: () => void;
    const loadMayFinish = new Promise<void>((resolve) => (finishLoading = resolve));
    const model = loadMayFinish.then(() => InferenceModel.load(artifacts.regression, { threads: 1 }));
    const server = new InferenceServer({ model: model.then((loaded) => TabularModel.serving(loaded)), log: () => {} });
    await server.listen(0, '127.0.0.1');

    const drained = server.drain(1000);
    finishLoading();
    await drained;
    // Before: the session stayed open (drain only closed a model that had already loaded).
    await expect((await model).predict(new Float32Array([1, 2]), 1)).rejects.toThrow();
  });

  it('releases an already loaded model too', async () => {
    const model = InferenceModel.load(artifacts.regression, { threads: 1 });
    const server = new InferenceServer({ model: model.then((loaded) => TabularModel.serving(loaded)), log: () => {} });
    await server.listen(0, '127.0.0.1');
    await server.ready;
    expect((await (await model).predict(new Float32Array([1, 2]), 1)).length).toBe(1);
    await server.drain(1000);
    await expect((await model).predict(new Float32Array([1, 2]), 1)).rejects.toThrow();
  });
});
