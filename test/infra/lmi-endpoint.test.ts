import { Duration, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { InferenceEndpoint, type InferenceEndpointProps } from '../../lib/endpoint/inference-endpoint.ts';
import { LMI_IMAGE_ACCOUNTS, LmiVersion } from '../../lib/endpoint/lmi-image.ts';
import { InferenceEngine, LmiModel, type LmiEngineOptions } from '../../lib/endpoint/lmi-model.ts';
import { ModelStore } from '../../lib/model-store.ts';
import { RuntimeImage } from '../../lib/runtime-image.ts';
import { assetHashSerializer, logicalIdOf, templateOf, testApp } from '../helpers/cdk.ts';

expect.addSnapshotSerializer(assetHashSerializer);

const PREFIX = 'models/llama-3.1-8b-instruct/';
const HUB_ID = 'mistralai/Mistral-7B-Instruct-v0.3';
const V20_TAG = '0.36.0-lmi20.0.0-cu128-v1.0';

interface LmiStackOptions {
  readonly region?: string | null;
  readonly lmi?: Partial<LmiEngineOptions>;
  readonly props?: Partial<InferenceEndpointProps>;
}

/** A stack in `region` (us-east-1 unless given; null: environment-agnostic) with one LMI endpoint, `llm`. */
function lmiStack(options: LmiStackOptions = {}) {
  const region = options.region === undefined ? 'us-east-1' : options.region;
  const stack = new Stack(testApp(), 'Llm', region === null ? {} : { env: { account: '111111111111', region } });
  const store = new ModelStore(stack, 'Store');
  const endpoint = new InferenceEndpoint(stack, 'Endpoint', {
    modelStore: store,
    endpointName: 'llm',
    instanceType: 'ml.g5.12xlarge',
    engine: InferenceEngine.lmi({ model: LmiModel.fromModelStore(PREFIX), parameterCount: 8e9, ...options.lmi }),
    ...options.props,
  });
  return { stack, store, endpoint };
}

function containerOf(template: Template): Record<string, unknown> {
  const [model] = Object.values(template.findResources('AWS::SageMaker::Model'));
  return model!.Properties.PrimaryContainer as Record<string, unknown>;
}

function variantOf(template: Template): Record<string, unknown> {
  const [config] = Object.values(template.findResources('AWS::SageMaker::EndpointConfig'));
  return (config!.Properties.ProductionVariants as Array<Record<string, unknown>>)[0]!;
}

/** Every IAM statement of the stack, inline or customer-managed policy alike. */
function statementsOf(template: Template): Array<Record<string, unknown>> {
  const policies = { ...template.findResources('AWS::IAM::Policy'), ...template.findResources('AWS::IAM::ManagedPolicy') };
  return Object.values(policies).flatMap((policy) => policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>);
}

function actionsOf(statement: Record<string, unknown>): string[] {
  return ([] as string[]).concat(statement.Action as string | string[]);
}

describe('InferenceEndpoint with LMI, a model-store model on ml.g5.12xlarge in us-east-1', () => {
  const { stack, store, endpoint } = lmiStack();
  const template = templateOf(stack);

  it('matches the snapshot (asset hashes masked)', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  it("serves the region's LMI image from AWS's DLC account, at the documented default version", () => {
    expect(containerOf(template).Image).toBe(`763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:${V20_TAG}`);
    expect(endpoint.imageUri).toBe(containerOf(template).Image);
  });

  it('copies the uncompressed prefix from the model store (S3Prefix, CompressionType None), with no model archive', () => {
    expect(containerOf(template).ModelDataSource).toEqual({
      S3DataSource: {
        S3Uri: { 'Fn::Join': ['', ['s3://', { Ref: logicalIdOf(store.bucket) }, `/${PREFIX}`]] },
        S3DataType: 'S3Prefix',
        CompressionType: 'None',
      },
    });
    expect(containerOf(template).ModelDataUrl).toBeUndefined();
  });

  it('configures vLLM rolling batches, tensor parallel across all 4 GPUs by default, fp16, and loads from /opt/ml/model', () => {
    expect(containerOf(template).Environment).toEqual({
      OPTION_MODEL_ID: '/opt/ml/model',
      OPTION_ROLLING_BATCH: 'vllm',
      OPTION_TENSOR_PARALLEL_DEGREE: '4',
      OPTION_DTYPE: 'fp16',
    });
    expect(endpoint.lmi?.tensorParallelDegree).toBe(4);
  });

  it('keeps network isolation and gives the container 30 minutes to download and to load', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', { EnableNetworkIsolation: true });
    expect(variantOf(template)).toMatchObject({
      InstanceType: 'ml.g5.12xlarge',
      InitialInstanceCount: 1,
      ContainerStartupHealthCheckTimeoutInSeconds: 1800,
      ModelDataDownloadTimeoutInSeconds: 1800,
    });
  });

  it('captures requests and responses to capture/llm/ with the store key; no volume key on NVMe g5', () => {
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      KmsKeyId: Match.absent(),
      DataCaptureConfig: Match.objectLike({
        EnableCapture: true,
        DestinationS3Uri: { 'Fn::Join': ['', ['s3://', { Ref: logicalIdOf(store.bucket) }, '/capture/llm/']] },
        KmsKeyId: { 'Fn::GetAtt': [logicalIdOf(store.key), 'Arn'] },
      }),
    });
  });

  it("lets the role read the model's prefix only (decrypting with the store key) and pull only djl-inference", () => {
    const statements = statementsOf(template);
    const text = JSON.stringify(statements);
    expect(text).toContain(`/${PREFIX}*`);
    expect(text).not.toContain('/models/*');
    expect(text).toContain('/capture/llm/*');
    const decrypt = statements.find((statement) => actionsOf(statement).includes('kms:Decrypt'));
    expect(decrypt?.Resource).toEqual({ 'Fn::GetAtt': [logicalIdOf(store.key), 'Arn'] });
    const pull = statements.find((statement) => actionsOf(statement).includes('ecr:BatchGetImage'));
    expect(pull?.Resource).toBe('arn:aws:ecr:us-east-1:763104351884:repository/djl-inference');
    expect(text).not.toMatch(/"s3:\*"|"sagemaker:\*"|"kms:\*"|"ecr:\*"/);
    // No image asset: nothing of this runtime is built or pulled.
    expect(Object.keys(template.findResources('AWS::ECR::Repository'))).toEqual([]);
  });

  it('creates the model after its role policies, autoscales and grants streaming invocation like any endpoint', () => {
    const s = lmiStack();
    s.endpoint.autoScaleInstanceCount({ minCapacity: 1, maxCapacity: 2 });
    const caller = new iam.Role(s.stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    s.endpoint.grantInvoke(caller);
    const t = templateOf(s.stack);
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 2, ResourceId: 'endpoint/llm/variant/AllTraffic' });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Caller') }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: Match.arrayWith(['sagemaker:InvokeEndpointWithResponseStream']) })] },
    });
    const [model] = Object.values(t.findResources('AWS::SageMaker::Model'));
    const rolePolicies = Object.keys({ ...t.findResources('AWS::IAM::Policy'), ...t.findResources('AWS::IAM::ManagedPolicy') }).filter((id) => id.startsWith('EndpointExecutionRole'));
    expect(rolePolicies.length).toBeGreaterThan(0);
    expect(model!.DependsOn).toEqual(expect.arrayContaining(rolePolicies));
  });

  it("passes CloudFormation's schema (ModelDataSource and the startup timeouts are real properties)", () => {
    const app = testApp({ schemaValidation: true });
    const s = new Stack(app, 'LlmSchema', { env: { account: '111111111111', region: 'us-east-1' } });
    new InferenceEndpoint(s, 'Endpoint', {
      modelStore: new ModelStore(s, 'Store'),
      endpointName: 'llm',
      instanceType: 'ml.g5.12xlarge',
      engine: InferenceEngine.lmi({ model: LmiModel.fromModelStore(PREFIX), parameterCount: 8e9, maxModelLength: 8192 }),
    });
    // Throws ValidationFailed with the report when the schema rejects anything.
    expect(app.synth().getStackByName(s.stackName).template.Resources).toBeDefined();
  });

  it('reports no unacknowledged cdk-nag AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks().validateScope(lmiStack().stack);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});

describe('the LMI image by region', () => {
  it.each([
    ['us-west-2', '763104351884.dkr.ecr.us-west-2.amazonaws.com', 'arn:aws:ecr:us-west-2:763104351884:repository/djl-inference'],
    ['eu-south-1', '692866216735.dkr.ecr.eu-south-1.amazonaws.com', 'arn:aws:ecr:eu-south-1:692866216735:repository/djl-inference'],
    ['ap-east-1', '871362719292.dkr.ecr.ap-east-1.amazonaws.com', 'arn:aws:ecr:ap-east-1:871362719292:repository/djl-inference'],
    ['cn-north-1', '727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn', 'arn:aws-cn:ecr:cn-north-1:727897471807:repository/djl-inference'],
    ['us-gov-west-1', '442386744353.dkr.ecr.us-gov-west-1.amazonaws.com', 'arn:aws-us-gov:ecr:us-gov-west-1:442386744353:repository/djl-inference'],
  ])('%s: %s', (region, registry, repositoryArn) => {
    const template = templateOf(lmiStack({ region }).stack);
    expect(containerOf(template).Image).toBe(`${registry}/djl-inference:${V20_TAG}`);
    expect(statementsOf(template).find((statement) => actionsOf(statement).includes('ecr:BatchGetImage'))?.Resource).toBe(repositoryArn);
  });

  it('serves another published tag when asked', () => {
    const template = templateOf(lmiStack({ lmi: { version: LmiVersion.of('0.36.0-lmi19.0.0-cu128') } }).stack);
    expect(containerOf(template).Image).toBe('763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.36.0-lmi19.0.0-cu128');
  });

  it('looks the account up at deploy time in an environment-agnostic stack', () => {
    const template = templateOf(lmiStack({ region: null }).stack);
    const mappings = template.toJSON().Mappings as Record<string, Record<string, { account: string }>>;
    const [mapping] = Object.entries(mappings);
    expect(Object.keys(mapping![1])).toEqual(Object.keys(LMI_IMAGE_ACCOUNTS));
    expect(mapping![1]['eu-west-1']).toEqual({ account: '763104351884' });
    expect(JSON.stringify(containerOf(template).Image)).toContain(`{"Fn::FindInMap":["${mapping![0]}",{"Ref":"AWS::Region"},"account"]}`);
    expect(JSON.stringify(containerOf(template).Image)).toContain('{"Ref":"AWS::URLSuffix"}');
  });

  it('fails synth in a region with no LMI image, naming it and the known regions', () => {
    expect(() => lmiStack({ region: 'xx-north-9' })).toThrow(/InferenceEndpoint\.engine: AWS publishes no LMI image for region xx-north-9 .*known regions: af-south-1, .*us-east-1, .*us-west-2/);
  });

  it('refuses a tag that is not an LMI image tag', () => {
    expect(() => LmiVersion.of('latest')).toThrow(/LmiVersion\.of: must be an LMI image tag like "0\.36\.0-lmi20\.0\.0-cu128".*got "latest"/);
  });
});

describe('InferenceEndpoint with LMI, a Hugging Face hub model', () => {
  const hub = { model: LmiModel.fromHuggingFaceHub(HUB_ID, { revision: 'e0bc86c23ce5aae1db576c8cca6f06f1f73af2db' }), parameterCount: 7.25e9 };

  it('passes the hub id and revision, turns network isolation off, and reads nothing of the store but writes capture', () => {
    const { stack } = lmiStack({ lmi: hub, props: { instanceType: 'ml.g6.2xlarge' } });
    const template = templateOf(stack);
    expect(containerOf(template)).toMatchObject({
      Environment: {
        HF_MODEL_ID: HUB_ID,
        OPTION_REVISION: 'e0bc86c23ce5aae1db576c8cca6f06f1f73af2db',
        OPTION_ROLLING_BATCH: 'vllm',
        OPTION_TENSOR_PARALLEL_DEGREE: '1',
        OPTION_DTYPE: 'fp16',
      },
    });
    expect(containerOf(template).ModelDataSource).toBeUndefined();
    template.hasResourceProperties('AWS::SageMaker::Model', { EnableNetworkIsolation: false });
    expect(variantOf(template)).toMatchObject({ ContainerStartupHealthCheckTimeoutInSeconds: 1800 });
    expect(variantOf(template).ModelDataDownloadTimeoutInSeconds).toBeUndefined();
    const text = JSON.stringify(statementsOf(template));
    expect(text).not.toContain('/models/');
    expect(text).toContain('/capture/llm/*');
  });

  it('fails synth with networkIsolation: true, saying why and what to do instead', () => {
    expect(() => lmiStack({ lmi: hub, props: { networkIsolation: true } })).toThrow(
      /InferenceEndpoint\.networkIsolation: a Hugging Face hub model \(mistralai\/Mistral-7B-Instruct-v0\.3\) is downloaded by the container when it starts, which network isolation forbids; copy the weights into the model store and use LmiModel\.fromModelStore/,
    );
  });

  it('refuses a malformed hub id', () => {
    expect(() => lmiStack({ lmi: { model: LmiModel.fromHuggingFaceHub('not a model id') } })).toThrow(/InferenceEndpoint\.engine\.model \(fromHuggingFaceHub modelId\): must be a Hugging Face hub model id/);
  });
});

describe('LMI settings', () => {
  it('passes the maximum sequence length, rolling batch size and dtype, and the startup limits given', () => {
    const { stack } = lmiStack({
      lmi: { maxModelLength: 8192, maxRollingBatchSize: 64, dtype: 'bf16', containerStartupHealthCheckTimeout: Duration.minutes(45), modelDataDownloadTimeout: Duration.minutes(20) },
    });
    const template = templateOf(stack);
    expect(containerOf(template).Environment).toMatchObject({ OPTION_MAX_MODEL_LEN: '8192', OPTION_MAX_ROLLING_BATCH_SIZE: '64', OPTION_DTYPE: 'bf16' });
    expect(variantOf(template)).toMatchObject({ ContainerStartupHealthCheckTimeoutInSeconds: 2700, ModelDataDownloadTimeoutInSeconds: 1200 });
  });

  it.each([
    ['ml.g5.2xlarge', 1],
    ['ml.g5.48xlarge', 8],
    ['ml.g6e.12xlarge', 4],
    ['ml.p4d.24xlarge', 8],
    ['ml.p5.48xlarge', 8],
  ])('defaults the tensor-parallel degree on %s to its %i GPUs', (instanceType, gpus) => {
    const { stack } = lmiStack({ props: { instanceType } });
    expect(containerOf(templateOf(stack)).Environment).toMatchObject({ OPTION_TENSOR_PARALLEL_DEGREE: String(gpus) });
  });

  it('accepts a degree that divides the GPUs (two copies of a 2-GPU model on 4 GPUs)', () => {
    const { stack } = lmiStack({ lmi: { tensorParallelDegree: 2 } });
    expect(containerOf(templateOf(stack)).Environment).toMatchObject({ OPTION_TENSOR_PARALLEL_DEGREE: '2' });
  });

  it('keeps extra environment and is served asynchronously when asked', () => {
    const { stack } = lmiStack({ props: { environment: { OPTION_ENABLE_PREFIX_CACHING: 'true' }, asyncInference: {} } });
    const template = templateOf(stack);
    expect(containerOf(template).Environment).toMatchObject({ OPTION_ENABLE_PREFIX_CACHING: 'true', OPTION_ROLLING_BATCH: 'vllm' });
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', { AsyncInferenceConfig: Match.objectLike({ OutputConfig: Match.anyValue() }) });
  });
});

describe('LMI synth-time validation', () => {
  it.each<[string, LmiStackOptions, RegExp]>([
    [
      'a degree that does not divide the GPUs',
      { lmi: { tensorParallelDegree: 3 } },
      /InferenceEndpoint\.engine\.tensorParallelDegree: 3 does not divide the 4 GPUs of ml\.g5\.12xlarge; use one of 1, 2, 4$/,
    ],
    [
      'a degree above the GPU count',
      { lmi: { tensorParallelDegree: 8 } },
      /InferenceEndpoint\.engine\.tensorParallelDegree: 8 does not divide the 4 GPUs of ml\.g5\.12xlarge; use one of 1, 2, 4$/,
    ],
    ['a degree that is not a positive integer', { lmi: { tensorParallelDegree: 0 } }, /InferenceEndpoint\.engine\.tensorParallelDegree: must be an integer from 1 to 64, got 0/],
    [
      '13B parameters in fp16 on one 24 GiB A10G',
      { lmi: { parameterCount: 13e9 }, props: { instanceType: 'ml.g5.xlarge' } },
      /InferenceEndpoint\.instanceType: 13B parameters in fp16 need about 29\.1 GiB of GPU memory \(24\.2 GiB of weights \+ 20% for the KV cache and activations\); ml\.g5\.xlarge has 1 x 24 GiB A10G\. Instance types that hold it: ml\.g6e\.xlarge \(1 x 48 GiB L40S\)/,
    ],
    [
      '70B parameters in fp16 on 4 A10G',
      { lmi: { parameterCount: 70e9 } },
      /70B parameters in fp16 need about 156\.5 GiB .*ml\.g5\.12xlarge has 4 x 24 GiB A10G\. Instance types that hold it: ml\.g6e\.12xlarge \(4 x 48 GiB L40S\), ml\.g5\.48xlarge \(8 x 24 GiB A10G\), ml\.g6\.48xlarge \(8 x 24 GiB L4\)$/,
    ],
    [
      'a tensor-parallel group too small for the model',
      { lmi: { parameterCount: 13e9, tensorParallelDegree: 1 } },
      /13B parameters in fp16 need about 29\.1 GiB .*ml\.g5\.12xlarge has 4 x 24 GiB A10G \(tensor-parallel degree 1 gives each model copy 24 GiB\)/,
    ],
    [
      'a model no instance holds',
      { lmi: { parameterCount: 405e9, dtype: 'fp32' }, props: { instanceType: 'ml.p5.48xlarge' } },
      /405B parameters in fp32 need about 1810\.5 GiB .*ml\.p5\.48xlarge has 8 x 80 GiB H100\. No single instance in the GPU table holds it/,
    ],
    ['a CPU instance type', { props: { instanceType: 'ml.m5.xlarge' } }, /InferenceEndpoint\.instanceType: ml\.m5\.xlarge has no GPUs, and LMI runs vLLM on NVIDIA GPUs; use one of ml\.g5\.\*, ml\.g6\.\*, .*ml\.p5\.\*/],
    ['an Inferentia instance type', { props: { instanceType: 'ml.inf2.xlarge' } }, /InferenceEndpoint\.instanceType: ml\.inf2\.xlarge has AWS Neuron accelerators, which the LMI NeuronX image serves/],
    ['a GPU type not in the table', { props: { instanceType: 'ml.g4dn.xlarge' } }, /InferenceEndpoint\.instanceType: ml\.g4dn\.xlarge is not in the GPU table \(lib\/endpoint\/gpu-instances\.ts\)/],
    [
      'a serverless variant',
      { props: { instanceType: undefined, serverless: {} } },
      /InferenceEndpoint\.serverless: cannot be used with InferenceEngine\.lmi\(\): LMI runs vLLM on NVIDIA GPUs, and SageMaker Serverless Inference has no GPUs/,
    ],
    ['an unknown dtype', { lmi: { dtype: 'int4' as 'fp16' } }, /InferenceEndpoint\.engine\.dtype: must be one of fp16, bf16, fp32, got "int4"/],
    ['a parameter count that is not a positive integer', { lmi: { parameterCount: -1 } }, /InferenceEndpoint\.engine\.parameterCount: must be an integer from 1 to 10000000000000, got -1/],
    ['a zero maximum sequence length', { lmi: { maxModelLength: 0 } }, /InferenceEndpoint\.engine\.maxModelLength: must be an integer from 1 to 1048576, got 0/],
    ['a rolling batch too large', { lmi: { maxRollingBatchSize: 5000 } }, /InferenceEndpoint\.engine\.maxRollingBatchSize: must be an integer from 1 to 1024, got 5000/],
    [
      'a startup timeout under a minute',
      { lmi: { containerStartupHealthCheckTimeout: Duration.seconds(30) } },
      /InferenceEndpoint\.engine\.containerStartupHealthCheckTimeout \(seconds\): must be an integer from 60 to 3600, got 30/,
    ],
    ['a download timeout over an hour', { lmi: { modelDataDownloadTimeout: Duration.hours(2) } }, /InferenceEndpoint\.engine\.modelDataDownloadTimeout \(seconds\): must be an integer from 60 to 3600, got 7200/],
    [
      'a store prefix without its trailing slash',
      { lmi: { model: LmiModel.fromModelStore('models/llama') } },
      /InferenceEndpoint\.engine\.model \(fromModelStore keyPrefix\): must be a key prefix in the model store ending in "\/".*got "models\/llama"/,
    ],
    ['an environment variable the engine sets', { props: { environment: { OPTION_DTYPE: 'fp32' } } }, /InferenceEndpoint\.environment: must not set OPTION_DTYPE, which InferenceEngine\.lmi\(\) sets from its options/],
    ['modelDigest, which only this runtime checks', { props: { modelDigest: 'ab'.repeat(32) } }, /InferenceEndpoint\.modelDigest: cannot be used with InferenceEngine\.lmi\(\): it belongs to this runtime/],
    ['modelDataUrl beside the engine', { props: { modelDataUrl: 's3://b/models/m.tar.gz' } }, /InferenceEndpoint\.modelDataUrl: cannot be used with InferenceEngine\.lmi\(\)/],
  ])('refuses %s', (_name, options, message) => {
    expect(() => lmiStack(options)).toThrow(message);
  });

  it('accepts what the memory check allows at its edge: 7B in fp16 on one 24 GiB GPU, 70B in fp16 on a p4d', () => {
    expect(() => lmiStack({ lmi: { parameterCount: 7e9 }, props: { instanceType: 'ml.g5.xlarge' } })).not.toThrow();
    expect(() => lmiStack({ lmi: { parameterCount: 70e9 }, props: { instanceType: 'ml.p4d.24xlarge' } })).not.toThrow();
  });

  it('refuses the runtime image beside the engine, and neither engine nor image', () => {
    const stack = new Stack(testApp(), 'Both');
    const store = new ModelStore(stack, 'Store');
    const image = new RuntimeImage(stack, 'Image');
    const engine = InferenceEngine.lmi({ model: LmiModel.fromModelStore(PREFIX) });
    expect(() => new InferenceEndpoint(stack, 'Both', { modelStore: store, image, engine, endpointName: 'both' })).toThrow(/InferenceEndpoint\.image: cannot be used with InferenceEngine\.lmi\(\)/);
    expect(() => new InferenceEndpoint(stack, 'Neither', { modelStore: store, endpointName: 'neither' })).toThrow(
      /InferenceEndpoint\.image: is required: give `image` and `modelDataUrl` \(this runtime\), or `engine: InferenceEngine\.lmi\(\{\.\.\.\}\)`/,
    );
  });
});
