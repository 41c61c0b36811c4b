import './quiet-logs.ts';
import { CreateModelPackageCommand, DescribeModelPackageCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler, type RegisterEvent } from '../../lambda/register-model.ts';
import { PACKAGE_METADATA } from '../../lambda/shared/package-metadata.ts';

const sageMaker = mockClient(SageMakerClient);
const PACKAGE = 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/ms/4';
const EVENT: RegisterEvent = {
  trainingJobName: 'ms-2611281759-ab12',
  modelPackageGroupName: 'ms',
  imageUri: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/runtime:abc',
  approval: 'Approved',
  seal: { artifactUri: 's3://store/models/ms-2611281759-ab12/output/model.tar.gz', archiveSha256: 'a'.repeat(64), manifestDigest: 'b'.repeat(64) },
  evaluation: { metric: 'validation_loss', value: 0.21, metrics: { validation_loss: 0.21, train_loss: 0.19 } },
  inference: { contentTypes: ['text/csv'], responseTypes: ['application/json'], realtimeInstanceTypes: ['ml.g5.xlarge'], transformInstanceTypes: ['ml.g5.xlarge'] },
};

beforeEach(() => {
  sageMaker.reset();
  sageMaker.on(CreateModelPackageCommand).resolves({ ModelPackageArn: PACKAGE });
});

describe('registration', () => {
  it('registers the sealed artifact with its digests and metrics, approved', async () => {
    sageMaker.on(DescribeModelPackageCommand).resolves({ ModelApprovalStatus: 'Approved' });

    const result = await handler(EVENT);

    expect(result).toEqual({ modelPackageArn: PACKAGE, approvalStatus: 'Approved' });
    expect(sageMaker).toHaveReceivedCommandWith(CreateModelPackageCommand, {
      ModelPackageGroupName: 'ms',
      ModelApprovalStatus: 'Approved',
      InferenceSpecification: expect.objectContaining({
        Containers: [{ Image: EVENT.imageUri, ModelDataUrl: EVENT.seal.artifactUri }],
      }),
      CustomerMetadataProperties: {
        [PACKAGE_METADATA.archiveSha256]: 'a'.repeat(64),
        [PACKAGE_METADATA.manifestDigest]: 'b'.repeat(64),
        [PACKAGE_METADATA.trainingJobName]: 'ms-2611281759-ab12',
        [PACKAGE_METADATA.objectiveMetric]: 'validation_loss',
        [PACKAGE_METADATA.objectiveValue]: '0.21',
        'metric:validation_loss': '0.21',
        'metric:train_loss': '0.19',
      },
    });
  });

  it('leaves the package waiting for a person when approval is manual', async () => {
    sageMaker.on(DescribeModelPackageCommand).resolves({ ModelApprovalStatus: 'PendingManualApproval' });

    const result = await handler({ ...EVENT, approval: 'PendingManualApproval' });

    expect(result.approvalStatus).toBe('PendingManualApproval');
    expect(sageMaker).toHaveReceivedCommandWith(CreateModelPackageCommand, { ModelApprovalStatus: 'PendingManualApproval' });
  });

  it('sends the same idempotency token when the step is retried, so no second version is created', async () => {
    sageMaker.on(DescribeModelPackageCommand).resolves({ ModelApprovalStatus: 'Approved' });

    await handler(EVENT);
    await handler(EVENT);
    await handler({ ...EVENT, trainingJobName: 'ms-2611290800-cd34' });

    const tokens = sageMaker.commandCalls(CreateModelPackageCommand).map((call) => call.args[0].input.ClientToken);
    expect(tokens[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(tokens[1]).toBe(tokens[0]);
    expect(tokens[2]).not.toBe(tokens[0]);
  });

  it('refuses to register an artifact that was not sealed', async () => {
    await expect(handler({ ...EVENT, seal: { ...EVENT.seal, archiveSha256: '' } })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringContaining('only sealed artifacts are registered'),
    });
    expect(sageMaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
  });

  it('lets a throttled SageMaker call fail with its own error name, which the state machine retries', async () => {
    sageMaker.on(CreateModelPackageCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(handler(EVENT)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});
