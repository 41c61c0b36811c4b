import './quiet-logs.ts';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelPackageCommand,
  SageMakerClient,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler, type DeployEvent } from '../../lambda/deploy-model.ts';
import { deploymentNames } from '../../lambda/shared/names.ts';
import { ENDPOINT_CONFIG_TAGS, PACKAGE_METADATA } from '../../lambda/shared/package-metadata.ts';

const sageMaker = mockClient(SageMakerClient);
const PACKAGE = 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/ms/5';
const NAMES = deploymentNames('ms', PACKAGE);
const DEPLOYMENT_CONFIG = {
  BlueGreenUpdatePolicy: {
    TrafficRoutingConfiguration: { Type: 'CANARY' as const, CanarySize: { Type: 'CAPACITY_PERCENT' as const, Value: 10 }, WaitIntervalInSeconds: 300 },
    TerminationWaitInSeconds: 600,
  },
  AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'ms-latency-p99' }] },
};
const EVENT: DeployEvent = {
  modelPackageArn: PACKAGE,
  namePrefix: 'ms',
  modelExecutionRoleArn: 'arn:aws:iam::111122223333:role/ms-model',
  networkIsolation: true,
  endpoint: {
    endpointName: 'ms-endpoint',
    variant: { kind: 'instances', variantName: 'Primary', instanceType: 'ml.g5.xlarge', initialInstanceCount: 1 },
    dataCapture: {
      destinationS3Uri: 's3://store/capture/',
      samplingPercentage: 20,
      kmsKeyId: 'key-arn',
      jsonContentTypes: ['application/json', 'application/jsonlines'],
      csvContentTypes: ['text/csv'],
    },
    deployment: { canaryPercent: 10, canaryWaitSeconds: 300, terminationWaitSeconds: 600, rollbackAlarmNames: ['ms-latency-p99'] },
  },
};
const NOT_FOUND = Object.assign(new Error('Could not find endpoint "ms-endpoint".'), { name: 'ValidationException' });

const SEALED_DIGEST = 'ab'.repeat(32);

function approvedPackage(status = 'Approved'): void {
  sageMaker.on(DescribeModelPackageCommand, { ModelPackageName: PACKAGE }).resolves({
    ModelApprovalStatus: status as 'Approved',
    InferenceSpecification: { Containers: [{ Image: 'repo/runtime:abc', ModelDataUrl: 's3://store/models/job/output/model.tar.gz' }] },
    CustomerMetadataProperties: { [PACKAGE_METADATA.manifestDigest]: SEALED_DIGEST, [PACKAGE_METADATA.objectiveMetric]: 'validation_loss', [PACKAGE_METADATA.objectiveValue]: '0.21' },
  });
}

function runningEndpoint(overrides: Record<string, unknown> = {}): void {
  sageMaker.on(DescribeEndpointCommand).resolves({
    EndpointStatus: 'InService',
    EndpointConfigName: 'ms-endpoint-config-cfn',
    ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 3, DesiredInstanceCount: 3 }],
    ...overrides,
  });
  sageMaker.on(DescribeEndpointConfigCommand, { EndpointConfigName: 'ms-endpoint-config-cfn' }).resolves({
    ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'ms-initial', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1, InitialVariantWeight: 1 }],
    DataCaptureConfig: { EnableCapture: true, InitialSamplingPercentage: 5, DestinationS3Uri: 's3://store/capture/', CaptureOptions: [{ CaptureMode: 'Input' }] },
  });
}

beforeEach(() => {
  sageMaker.reset();
  approvedPackage();
  sageMaker.on(CreateModelCommand).resolves({});
  sageMaker.on(CreateEndpointConfigCommand).resolves({});
  sageMaker.on(CreateEndpointCommand).resolves({});
  sageMaker.on(UpdateEndpointCommand).resolves({});
});

describe('first deployment', () => {
  it('creates the model, a configuration from the instance settings, and the endpoint', async () => {
    sageMaker.on(DescribeEndpointCommand).rejects(NOT_FOUND);

    const result = await handler(EVENT);

    expect(result).toEqual({ ...NAMES, endpointName: 'ms-endpoint', action: 'created', previousEndpointConfigName: null });
    expect(sageMaker).toHaveReceivedCommandWith(CreateModelCommand, {
      ModelName: NAMES.modelName,
      ExecutionRoleArn: EVENT.modelExecutionRoleArn,
      // The registered digest travels with the model: the container refuses any other archive.
      PrimaryContainer: { Image: 'repo/runtime:abc', ModelDataUrl: 's3://store/models/job/output/model.tar.gz', Environment: { MODEL_RUNTIME_EXPECTED_DIGEST: SEALED_DIGEST } },
      EnableNetworkIsolation: true,
    });
    expect(sageMaker).toHaveReceivedCommandWith(CreateEndpointConfigCommand, {
      EndpointConfigName: NAMES.endpointConfigName,
      ProductionVariants: [{ VariantName: 'Primary', ModelName: NAMES.modelName, InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1, InitialVariantWeight: 1 }],
      DataCaptureConfig: expect.objectContaining({
        InitialSamplingPercentage: 20,
        KmsKeyId: 'key-arn',
        // Captured JSON and CSV stored as text, as on the endpoint CloudFormation creates.
        CaptureContentTypeHeader: { JsonContentTypes: ['application/json', 'application/jsonlines'], CsvContentTypes: ['text/csv'] },
      }),
      Tags: [
        { Key: ENDPOINT_CONFIG_TAGS.modelPackageArn, Value: PACKAGE },
        { Key: ENDPOINT_CONFIG_TAGS.objectiveMetric, Value: 'validation_loss' },
        { Key: ENDPOINT_CONFIG_TAGS.objectiveValue, Value: '0.21' },
      ],
    });
    expect(sageMaker).toHaveReceivedCommandWith(CreateEndpointCommand, { EndpointName: 'ms-endpoint', EndpointConfigName: NAMES.endpointConfigName });
    expect(sageMaker).not.toHaveReceivedCommand(UpdateEndpointCommand);
  });

  it('creates a serverless endpoint from a serverless variant, without key or capture', async () => {
    sageMaker.on(DescribeEndpointCommand).rejects(NOT_FOUND);
    const { dataCapture: _none, ...endpoint } = EVENT.endpoint;

    await handler({ ...EVENT, endpoint: { ...endpoint, variant: { kind: 'serverless', variantName: 'AllTraffic', memorySizeInMb: 3072, maxConcurrency: 8 } } });

    expect(sageMaker).toHaveReceivedCommandWith(CreateEndpointConfigCommand, {
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: NAMES.modelName, ServerlessConfig: { MemorySizeInMB: 3072, MaxConcurrency: 8 } }],
      KmsKeyId: undefined,
      DataCaptureConfig: undefined,
    });
    expect(sageMaker).toHaveReceivedCommandWith(CreateEndpointCommand, { EndpointName: 'ms-endpoint' });
  });
});

describe('update', () => {
  it('clones the live configuration with the new model at today\'s instance count and rolls it out blue/green', async () => {
    runningEndpoint();

    const result = await handler(EVENT);

    expect(result).toMatchObject({ action: 'updated', previousEndpointConfigName: 'ms-endpoint-config-cfn' });
    expect(sageMaker).toHaveReceivedCommandWith(CreateEndpointConfigCommand, {
      EndpointConfigName: NAMES.endpointConfigName,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: NAMES.modelName, InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 3, InitialVariantWeight: 1 }],
      DataCaptureConfig: expect.objectContaining({ InitialSamplingPercentage: 5 }),
    });
    expect(sageMaker).toHaveReceivedCommandWith(UpdateEndpointCommand, {
      EndpointName: 'ms-endpoint',
      EndpointConfigName: NAMES.endpointConfigName,
      DeploymentConfig: DEPLOYMENT_CONFIG,
    });
    expect(sageMaker).not.toHaveReceivedCommand(CreateEndpointCommand);
  });

  it('re-running after the model and configuration exist continues instead of failing or duplicating', async () => {
    runningEndpoint();
    sageMaker.on(CreateModelCommand).rejects(Object.assign(new Error(`Cannot create already existing model "${NAMES.modelName}".`), { name: 'ValidationException' }));
    sageMaker.on(CreateEndpointConfigCommand).rejects(Object.assign(new Error('Cannot create already existing endpoint configuration'), { name: 'ValidationException' }));

    const result = await handler(EVENT);

    expect(result.action).toBe('updated');
    expect(sageMaker).toHaveReceivedCommandTimes(UpdateEndpointCommand, 1);
  });

  it('does nothing when the endpoint already serves this package', async () => {
    runningEndpoint({ EndpointConfigName: NAMES.endpointConfigName });

    const result = await handler(EVENT);

    expect(result.action).toBe('unchanged');
    expect(sageMaker).not.toHaveReceivedCommand(CreateModelCommand);
    expect(sageMaker).not.toHaveReceivedCommand(UpdateEndpointCommand);
  });

  it('does not start a second update while its own is rolling out', async () => {
    runningEndpoint({ EndpointStatus: 'Updating', PendingDeploymentSummary: { EndpointConfigName: NAMES.endpointConfigName } });

    const result = await handler(EVENT);

    expect(result.action).toBe('in-progress');
    expect(sageMaker).not.toHaveReceivedCommand(UpdateEndpointCommand);
  });

  it('reports a busy endpoint so the state machine retries later', async () => {
    runningEndpoint({ EndpointStatus: 'Updating', PendingDeploymentSummary: { EndpointConfigName: 'someone-else' } });

    await expect(handler(EVENT)).rejects.toMatchObject({ name: 'EndpointBusyError' });
    expect(sageMaker).not.toHaveReceivedCommand(UpdateEndpointCommand);
  });

  it('replaces serverless variants without a blue/green policy, which SageMaker does not support for them', async () => {
    runningEndpoint();
    sageMaker.on(DescribeEndpointConfigCommand).resolves({
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'ms-initial', ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 } }],
    });

    await handler(EVENT);

    expect(sageMaker).toHaveReceivedCommandWith(UpdateEndpointCommand, { DeploymentConfig: undefined });
  });
});

describe('guards', () => {
  it('names what is missing from an endpoint spec it cannot create an endpoint from', async () => {
    const { variant: _variant, ...endpoint } = EVENT.endpoint;
    await expect(handler({ ...EVENT, endpoint: { ...endpoint, variant: { kind: 'instances', variantName: 'Primary' } } as never })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringContaining('deploy needs endpoint.variant {kind: "instances", variantName, instanceType, initialInstanceCount}'),
    });
    await expect(handler({ ...EVENT, endpoint: { ...EVENT.endpoint, endpointName: '' } })).rejects.toMatchObject({ message: 'deploy needs endpoint.endpointName' });
    expect(sageMaker).not.toHaveReceivedCommand(DescribeModelPackageCommand);
  });

  it('refuses a package that is not approved', async () => {
    approvedPackage('PendingManualApproval');

    await expect(handler(EVENT)).rejects.toMatchObject({
      name: 'ModelNotApprovedError',
      message: expect.stringContaining('is PendingManualApproval; only Approved packages are deployed'),
    });
    expect(sageMaker).not.toHaveReceivedCommand(CreateModelCommand);
  });

  it('refuses a package without a sealed manifest digest, which the container could not be told to check', async () => {
    sageMaker.on(DescribeModelPackageCommand, { ModelPackageName: PACKAGE }).resolves({
      ModelApprovalStatus: 'Approved',
      InferenceSpecification: { Containers: [{ Image: 'repo/runtime:abc', ModelDataUrl: 's3://store/models/job/output/model.tar.gz' }] },
      CustomerMetadataProperties: {},
    });

    await expect(handler(EVENT)).rejects.toMatchObject({
      name: 'ArtifactIntegrityError',
      message: expect.stringContaining('records manifest-digest null, not a sealed digest'),
    });
    expect(sageMaker).not.toHaveReceivedCommand(CreateModelCommand);
  });

  it('lets a throttled SageMaker call fail with its own error name, which the state machine retries', async () => {
    sageMaker.on(DescribeModelPackageCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(handler(EVENT)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});
