import './quiet-logs.ts';
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeTrainingJobCommand,
  ListTagsCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler, type EvaluateEvent } from '../../lambda/evaluate-model.ts';
import { ENDPOINT_CONFIG_TAGS } from '../../lambda/shared/package-metadata.ts';

const sageMaker = mockClient(SageMakerClient);
const EVENT: EvaluateEvent = {
  trainingJobName: 'ms-2611281759-ab12',
  endpointName: 'ms-endpoint',
  objective: { metric: 'validation_loss', goal: 'minimize', threshold: 0.5 },
};

function finalMetrics(metrics: Record<string, number>): void {
  sageMaker.on(DescribeTrainingJobCommand, { TrainingJobName: EVENT.trainingJobName }).resolves({
    TrainingJobStatus: 'Completed',
    FinalMetricDataList: Object.entries(metrics).map(([MetricName, Value]) => ({ MetricName, Value })),
  });
}

function production(tags: Record<string, string>): void {
  sageMaker.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'InService', EndpointConfigName: 'ms-v2-abcd1234-config' });
  sageMaker.on(DescribeEndpointConfigCommand).resolves({ EndpointConfigArn: 'arn:aws:sagemaker:eu-west-1:111122223333:endpoint-config/ms-v2-abcd1234-config' });
  sageMaker.on(ListTagsCommand).resolves({ Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });
}

function noEndpoint(): void {
  sageMaker.on(DescribeEndpointCommand).rejects(Object.assign(new Error('Could not find endpoint "ms-endpoint".'), { name: 'ValidationException' }));
}

beforeEach(() => sageMaker.reset());

describe('evaluation gate', () => {
  it('passes a first model that meets the threshold', async () => {
    finalMetrics({ validation_loss: 0.21, train_loss: 0.19 });
    noEndpoint();

    const result = await handler(EVENT);

    expect(result).toMatchObject({ passed: true, value: 0.21, production: null, metrics: { validation_loss: 0.21, train_loss: 0.19 } });
    expect(result.reasons[0]).toBe('validation_loss 0.21 <= threshold 0.5');
  });

  it('blocks a model whose metric misses the threshold', async () => {
    finalMetrics({ validation_loss: 0.8 });
    noEndpoint();

    const result = await handler(EVENT);

    expect(result.passed).toBe(false);
    expect(result.reasons[0]).toBe('validation_loss 0.8 not <= threshold 0.5');
  });

  it('blocks a model worse than the one in production, and passes a better one', async () => {
    production({
      [ENDPOINT_CONFIG_TAGS.objectiveMetric]: 'validation_loss',
      [ENDPOINT_CONFIG_TAGS.objectiveValue]: '0.2',
      [ENDPOINT_CONFIG_TAGS.modelPackageArn]: 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/ms/2',
    });
    finalMetrics({ validation_loss: 0.3 });
    const worse = await handler(EVENT);
    finalMetrics({ validation_loss: 0.1 });
    const better = await handler(EVENT);

    expect(worse).toMatchObject({ passed: false, production: { value: 0.2, modelPackageArn: 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/ms/2' } });
    expect(worse.reasons[1]).toBe('validation_loss 0.3 not <= production 0.2 (ms-v2-abcd1234-config)');
    expect(better.passed).toBe(true);
  });

  it('compares the other way round for a metric to maximize', async () => {
    production({ [ENDPOINT_CONFIG_TAGS.objectiveMetric]: 'validation_accuracy', [ENDPOINT_CONFIG_TAGS.objectiveValue]: '0.9' });
    finalMetrics({ validation_accuracy: 0.93 });

    const result = await handler({ ...EVENT, objective: { metric: 'validation_accuracy', goal: 'maximize', threshold: 0.8 } });

    expect(result.passed).toBe(true);
    expect(result.reasons).toEqual(['validation_accuracy 0.93 >= threshold 0.8', 'validation_accuracy 0.93 >= production 0.9 (ms-v2-abcd1234-config)']);
  });

  it('has no baseline when production recorded another metric (e.g. the endpoint CloudFormation created)', async () => {
    production({ [ENDPOINT_CONFIG_TAGS.objectiveMetric]: 'train_loss', [ENDPOINT_CONFIG_TAGS.objectiveValue]: '0.01' });
    finalMetrics({ validation_loss: 0.3 });

    const result = await handler(EVENT);

    expect(result).toMatchObject({ passed: true, production: null });
  });

  it('fails closed when the training job did not report the objective metric', async () => {
    finalMetrics({ train_loss: 0.1 });
    noEndpoint();

    await expect(handler(EVENT)).rejects.toMatchObject({
      name: 'MetricMissingError',
      message: expect.stringContaining('reported no finite validation_loss (it reported: train_loss)'),
    });
  });

  it('fails closed on a non-finite metric (a diverged run prints NaN)', async () => {
    finalMetrics({ validation_loss: Number.NaN });

    await expect(handler(EVENT)).rejects.toMatchObject({ name: 'MetricMissingError' });
  });

  it('names the objective fields it needs', async () => {
    await expect(handler({ ...EVENT, objective: { metric: 'validation_loss', goal: 'lowest' as never, threshold: 1 } })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringContaining('goal: "minimize" | "maximize"'),
    });
  });

  it('lets a throttled SageMaker call fail with its own error name, which the state machine retries', async () => {
    sageMaker.on(DescribeTrainingJobCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(handler(EVENT)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});
