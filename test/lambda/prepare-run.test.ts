import './quiet-logs.ts';
import { describe, expect, it } from 'vitest';
import { handler, runIdFor, type PrepareRunEvent } from '../../lambda/prepare-run.ts';

const EXECUTION = 'arn:aws:states:eu-west-1:111122223333:execution:ms-pipeline:manual-1';
const EVENT: PrepareRunEvent = {
  input: {},
  executionId: EXECUTION,
  startTime: '2026-11-28T17:59:22.123Z',
  config: {
    namePrefix: 'ms',
    bucketName: 'store',
    dataPrefix: 'data/',
    modelsPrefix: 'models/',
    checkpointsPrefix: 'checkpoints/',
    hyperparameters: { algorithm: 'mlp', epochs: '20', learning_rate: '0.01', batch_size: '64' },
    tunedHyperparameters: [],
  },
};

describe('run planning', () => {
  it('derives every name from the execution, so a retried step reuses them', async () => {
    const first = await handler(EVENT);
    const again = await handler(EVENT);

    expect(first).toEqual(again);
    expect(first.runId).toBe(runIdFor(EXECUTION, EVENT.startTime));
    expect(first.runId).toMatch(/^261128175922-[0-9a-f]{4}$/);
    expect(first).toMatchObject({
      mode: 'train',
      trainingJobName: `ms-${first.runId}`,
      trainingDataUri: 's3://store/data/',
      outputUri: 's3://store/models/',
      checkpointUri: `s3://store/checkpoints/ms-${first.runId}/`,
    });
    expect(first.tuningJobName.length).toBeLessThanOrEqual(32);
    expect((await handler({ ...EVENT, executionId: `${EXECUTION}-2` })).runId).not.toBe(first.runId);
  });

  it('trains on the folder a new object landed in', async () => {
    const plan = await handler({ ...EVENT, input: { trigger: 's3', objectKey: 'data/churn/2026-11-28/part-0001.csv' } });

    expect(plan.trainingDataUri).toBe('s3://store/data/churn/2026-11-28/');
  });

  it('merges hyperparameter overrides as strings and keeps the tuned ones out of the static set', async () => {
    const plan = await handler({
      ...EVENT,
      input: { hyperparameters: { epochs: 5, dropout: 0.1 } },
      config: { ...EVENT.config, tunedHyperparameters: ['learning_rate', 'batch_size'] },
    });

    expect(plan.mode).toBe('tune');
    expect(plan.hyperparameters).toEqual({ algorithm: 'mlp', epochs: '5', learning_rate: '0.01', batch_size: '64', dropout: '0.1' });
    expect(plan.staticHyperparameters).toEqual({ algorithm: 'mlp', epochs: '5', dropout: '0.1' });
  });

  it.each([
    [{ dataPrefix: 'secrets/' }, /training data must be under data\//],
    [{ dataPrefix: 'data/../secrets/' }, /training data must be under data\//],
    [{ mode: 'tune' as const }, /needs the TrainingPipeline `tuning` prop/],
    [{ mode: 'fast' as never }, /mode must be "train" or "tune"/],
    [{ hyperparameters: { 'Learning-Rate': 1 } }, /must be snake_case/],
    [{ hyperparameters: { epochs: { many: true } as never } }, /must be a string, number or boolean/],
    // The runtime's parser, before a training job starts: out of range, misspelt, of another algorithm.
    [{ hyperparameters: { epochs: 0 } }, /hyperparameters: hyperparameter epochs="0" is not allowed; expected integer 1 to 100000/],
    [{ hyperparameters: { epoch: 5 } }, /unknown hyperparameter "epoch"; did you mean "epochs"\?/],
    [{ hyperparameters: { n_layer: 2 } }, /hyperparameter n_layer does not apply to algorithm=mlp/],
  ])('rejects %j with a message saying what would be right', async (input, message) => {
    await expect(handler({ ...EVENT, input })).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringMatching(message) });
  });
});
