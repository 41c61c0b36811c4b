import { Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { InferenceEndpoint, type InferenceEndpointProps } from '../../lib/endpoint/inference-endpoint.ts';
import { ModelStore } from '../../lib/model-store.ts';
import { Monitoring } from '../../lib/monitoring.ts';
import { RuntimeImage } from '../../lib/runtime-image.ts';
import { logicalIdOf, templateOf, testApp } from '../helpers/cdk.ts';
import { awsManagedPoliciesOf, policiesIn } from '../pipeline/iam-statements.ts';

const MODEL = 's3://modelstack-models/models/job-1/output/model.tar.gz';
const DIGEST = '0123456789abcdef'.repeat(4);

function endpointStack(props: Partial<InferenceEndpointProps> = {}) {
  const stack = new Stack(testApp(), 'Serving');
  const store = new ModelStore(stack, 'Store');
  const image = new RuntimeImage(stack, 'Image', { flavour: 'gpu' });
  const endpoint = new InferenceEndpoint(stack, 'Endpoint', { modelStore: store, image, modelDataUrl: MODEL, endpointName: 'churn', ...props });
  return { stack, store, endpoint };
}

describe('InferenceEndpoint on the default GPU instance', () => {
  const { stack, store, endpoint } = endpointStack();
  const template = templateOf(stack);

  it('serves the runtime image and the model archive on ml.g5.xlarge, with network isolation', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { Image: Match.anyValue(), ModelDataUrl: MODEL, Mode: 'SingleModel' },
      EnableNetworkIsolation: true,
    });
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1, VariantName: 'AllTraffic' })],
    });
  });

  it('sets no expected digest when none is given (the container warns that it checks the manifest only)', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', { PrimaryContainer: Match.objectLike({ Environment: Match.absent() }) });
  });

  it('leaves KmsKeyId off the endpoint configuration: g5 has NVMe instance storage, which SageMaker encrypts in hardware', () => {
    expect(endpoint.volumeKmsKeyApplied).toBe(false);
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', { KmsKeyId: Match.absent() });
  });

  it('captures requests and responses to capture/<endpoint>/ encrypted with the store key', () => {
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      DataCaptureConfig: {
        EnableCapture: true,
        InitialSamplingPercentage: 100,
        CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
        DestinationS3Uri: { 'Fn::Join': ['', ['s3://', { Ref: logicalIdOf(store.bucket) }, '/capture/churn/']] },
        KmsKeyId: { 'Fn::GetAtt': [logicalIdOf(store.key), 'Arn'] },
      },
    });
  });

  it('updates blue/green with a 10% canary watched for 5 minutes', () => {
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: 'churn',
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 }, WaitIntervalInSeconds: 300 },
          TerminationWaitInSeconds: 300,
        },
      },
    });
  });

  it('creates the model only after its role policy exists', () => {
    const model = Object.values(template.findResources('AWS::SageMaker::Model'))[0]!;
    const policyIds = Object.keys(policiesIn(template));
    expect(model.DependsOn).toEqual(expect.arrayContaining(policyIds));
  });

  it('gives the execution role only hosting permissions: no managed policies, reads limited to the model', () => {
    const roles = template.findResources('AWS::IAM::Role');
    for (const role of Object.values(roles)) expect(awsManagedPoliciesOf(role)).toEqual([]);
    const policy = JSON.stringify(policiesIn(template));
    expect(policy).toContain('/models/*');
    expect(policy).toContain('/capture/churn/*');
    expect(policy).toContain(`arn:${'"'},{"Ref":"AWS::Partition"},":s3:::modelstack-models/models/job-1/output/model.tar.gz`);
    expect(policy).not.toMatch(/"s3:\*"|"sagemaker:\*"|"kms:\*"/);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } })],
      },
    });
  });

  it('grants invoke on this endpoint only', () => {
    const s = endpointStack();
    const caller = new iam.Role(s.stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    s.endpoint.grantInvoke(caller);
    templateOf(s.stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Caller') }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync', 'sagemaker:InvokeEndpointWithResponseStream'],
            Resource: { Ref: Match.stringLikeRegexp('^Endpoint[0-9A-F]{8}$') },
          },
        ],
      },
    });
  });

  it('publishes invocation metrics in AWS/SageMaker and instance metrics in /aws/sagemaker/Endpoints', () => {
    const dims = { EndpointName: 'churn', VariantName: 'AllTraffic' };
    const invocation = [
      endpoint.metricInvocations(),
      endpoint.metricInvocationsPerInstance(),
      endpoint.metricModelLatency(),
      endpoint.metricOverheadLatency(),
      endpoint.metricInvocation4XXErrors(),
      endpoint.metricInvocation5XXErrors(),
    ];
    const instance = [
      endpoint.metricCpuUtilization(),
      endpoint.metricMemoryUtilization(),
      endpoint.metricGpuUtilization(),
      endpoint.metricGpuMemoryUtilization(),
      endpoint.metricDiskUtilization(),
    ];
    for (const metric of invocation) expect([metric.namespace, metric.dimensions]).toEqual(['AWS/SageMaker', dims]);
    for (const metric of instance) expect([metric.namespace, metric.dimensions]).toEqual(['/aws/sagemaker/Endpoints', dims]);
    expect(invocation.map((m) => m.metricName)).toEqual(['Invocations', 'InvocationsPerInstance', 'ModelLatency', 'OverheadLatency', 'Invocation4XXErrors', 'Invocation5XXErrors']);
    expect(instance.map((m) => m.metricName)).toEqual(['CPUUtilization', 'MemoryUtilization', 'GPUUtilization', 'GPUMemoryUtilization', 'DiskUtilization']);
    expect(endpoint.metricInvocations().statistic).toBe('Sum');
    expect(endpoint.metricModelLatency({ statistic: 'p99' }).statistic).toBe('p99');
  });
});

describe('InferenceEndpoint variants', () => {
  it.each([
    ['ml.m5.large', true],
    ['ml.c5.xlarge', true],
    ['ml.m5d.large', false],
    ['ml.g4dn.xlarge', false],
    ['ml.p4d.24xlarge', false],
  ])('on %s puts the store key on the endpoint configuration: %s', (instanceType, applied) => {
    const { stack, store } = endpointStack({ instanceType });
    templateOf(stack).hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      KmsKeyId: applied ? { 'Fn::GetAtt': [logicalIdOf(store.key), 'Arn'] } : Match.absent(),
    });
  });

  it('rolls back on the alarms it is given, including ones added later', () => {
    const { stack, endpoint } = endpointStack();
    const metric = endpoint.metricInvocation5XXErrors();
    const errors = new cloudwatch.Alarm(stack, 'Errors', { metric, threshold: 1, evaluationPeriods: 1 });
    endpoint.addRollbackAlarm(errors);
    templateOf(stack).hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: { AutoRollbackConfiguration: { Alarms: [{ AlarmName: { Ref: logicalIdOf(errors) } }] } },
    });
  });

  it('runs serverless without capture, KMS or isolation', () => {
    const { stack } = endpointStack({ serverless: { memorySizeInMb: 4096, maxConcurrency: 10 } });
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ ServerlessConfig: { MemorySizeInMB: 4096, MaxConcurrency: 10 }, InstanceType: Match.absent() })],
      DataCaptureConfig: Match.absent(),
      KmsKeyId: Match.absent(),
    });
  });

  it('serves asynchronously with results in the store and encrypted SNS notifications', () => {
    const { stack, store, endpoint } = endpointStack({ asyncInference: { maxConcurrentInvocationsPerInstance: 4 } });
    const template = templateOf(stack);
    const bucket = { Ref: logicalIdOf(store.bucket) };
    const topicsKey = { 'Fn::GetAtt': [logicalIdOf(endpoint.node.findChild('AsyncTopicsKey')), 'Arn'] };
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      AsyncInferenceConfig: {
        ClientConfig: { MaxConcurrentInvocationsPerInstance: 4 },
        OutputConfig: {
          S3OutputPath: { 'Fn::Join': ['', ['s3://', bucket, '/inference/churn/output/']] },
          S3FailurePath: { 'Fn::Join': ['', ['s3://', bucket, '/inference/churn/failure/']] },
          KmsKeyId: { 'Fn::GetAtt': [logicalIdOf(store.key), 'Arn'] },
          NotificationConfig: { SuccessTopic: { Ref: logicalIdOf(endpoint.asyncSuccessTopic!) }, ErrorTopic: { Ref: logicalIdOf(endpoint.asyncErrorTopic!) } },
        },
      },
    });
    template.resourceCountIs('AWS::SNS::Topic', 2);
    // Both new topics share one key: a KMS key costs a monthly fee.
    template.allResourcesProperties('AWS::SNS::Topic', { KmsMasterKeyId: topicsKey });
    expect(endpoint.asyncInputUrl).toBeDefined();
    const policy = JSON.stringify(policiesIn(template));
    expect(policy).toContain('sns:Publish');
    expect(policy).toContain('/inference/churn/input/*');
  });

  it('attaches to a VPC with a security group that allows no inbound traffic', () => {
    const stack = new Stack(testApp(), 'Vpc');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const store = new ModelStore(stack, 'Store');
    const image = new RuntimeImage(stack, 'Image', { flavour: 'cpu' });
    const endpoint = new InferenceEndpoint(stack, 'Endpoint', {
      modelStore: store,
      image,
      modelDataUrl: MODEL,
      instanceType: 'ml.m5.large',
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    });
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::SageMaker::Model', {
      VpcConfig: {
        Subnets: vpc.isolatedSubnets.map((subnet) => ({ Ref: logicalIdOf(subnet) })),
        SecurityGroupIds: [{ 'Fn::GetAtt': [logicalIdOf(endpoint.node.findChild('SecurityGroup')), 'GroupId'] }],
      },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { SecurityGroupIngress: Match.absent() });
    expect(JSON.stringify(policiesIn(template))).toContain('ec2:CreateNetworkInterface');
  });
});

describe('InferenceEndpoint modelDigest', () => {
  it('gives the container the sealed digest (lowercased) beside the user\'s environment, so it serves that archive only', () => {
    const { stack } = endpointStack({ modelDigest: DIGEST.toUpperCase(), environment: { SAGEMAKER_MODEL_SERVER_WORKERS: '2' } });
    templateOf(stack).hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: Match.objectLike({ ModelDataUrl: MODEL, Environment: { SAGEMAKER_MODEL_SERVER_WORKERS: '2', MODEL_RUNTIME_EXPECTED_DIGEST: DIGEST } }),
    });
  });
});

describe('InferenceEndpoint validation', () => {
  it.each<[Partial<InferenceEndpointProps>, RegExp]>([
    [{ instanceType: 'g5.xlarge' }, /InferenceEndpoint\.instanceType: must be a SageMaker ML instance type such as "ml\.g5\.xlarge"/],
    [{ instanceType: 'ml.t2.medium' }, /InferenceEndpoint\.instanceType: burstable ml\.t2\.medium/],
    [{ modelDataUrl: 'https://example.com/model.tar.gz' }, /InferenceEndpoint\.modelDataUrl: must be an S3 URL of a model archive/],
    [{ endpointName: 'bad_name' }, /InferenceEndpoint\.endpointName: must be 1 to 63 letters, digits or hyphens/],
    [{ initialInstanceCount: 0 }, /InferenceEndpoint\.initialInstanceCount: must be an integer from 1 to 100, got 0/],
    [{ dataCapture: { samplingPercentage: 101 } }, /InferenceEndpoint\.dataCapture\.samplingPercentage: must be an integer from 0 to 100, got 101/],
    [{ deployment: { canaryPercent: 100 } }, /InferenceEndpoint\.deployment\.canaryPercent: must be an integer from 1 to 99, got 100/],
    [{ deployment: { canaryWait: Duration.hours(2) } }, /InferenceEndpoint\.deployment\.canaryWait \(seconds\): must be an integer from 0 to 3600, got 7200/],
    [{ serverless: { memorySizeInMb: 1500 } }, /InferenceEndpoint\.serverless\.memorySizeInMb: must be one of 1024, 2048, 3072, 4096, 5120, 6144, got 1500/],
    [{ serverless: { maxConcurrency: 500 } }, /InferenceEndpoint\.serverless\.maxConcurrency: must be an integer from 1 to 200, got 500/],
    [{ serverless: {}, asyncInference: {} }, /InferenceEndpoint\.asyncInference: is not supported with a serverless variant/],
    [{ serverless: {}, instanceType: 'ml.g5.xlarge' }, /InferenceEndpoint\.instanceType: is not supported with a serverless variant/],
    [{ asyncInference: { maxConcurrentInvocationsPerInstance: 0 } }, /InferenceEndpoint\.asyncInference\.maxConcurrentInvocationsPerInstance: must be an integer from 1 to 1000/],
    [{ modelDigest: 'sha256:abc' }, /InferenceEndpoint\.modelDigest: is "sha256:abc"; expected the model's manifest digest, 64 hex characters/],
    [{ modelDigest: 'a'.repeat(63) }, /InferenceEndpoint\.modelDigest: .*64 hex characters/],
    [{ modelDigest: DIGEST, environment: { MODEL_RUNTIME_EXPECTED_DIGEST: DIGEST } }, /InferenceEndpoint\.environment: must not set MODEL_RUNTIME_EXPECTED_DIGEST; give the digest as `modelDigest`/],
  ])('rejects %o naming the prop', (props, message) => {
    expect(() => endpointStack(props)).toThrow(message);
  });

  it('refuses more than 10 rollback alarms at synth', () => {
    const { stack, endpoint } = endpointStack();
    for (let i = 0; i < 11; i++) {
      endpoint.addRollbackAlarm(new cloudwatch.Alarm(stack, `Alarm${i}`, { metric: endpoint.metricInvocations(), threshold: i, evaluationPeriods: 1 }));
    }
    expect(() => templateOf(stack)).toThrow(/InferenceEndpoint\.rollbackAlarms: at most 10 alarms are allowed, got 11/);
  });

  it('refuses instance autoscaling on a serverless variant', () => {
    const { endpoint } = endpointStack({ serverless: {} });
    expect(() => endpoint.autoScaleInstanceCount()).toThrow(/InferenceEndpoint\.serverless: a serverless variant scales by itself/);
  });
});

describe('InferenceEndpoint.fromEndpointName', () => {
  const stack = new Stack(testApp(), 'Imported');
  const endpoint = InferenceEndpoint.fromEndpointName(stack, 'Churn', 'Churn-Endpoint');

  it('is addressed by the lowercase ARN SageMaker gives endpoints, with the default variant', () => {
    expect(stack.resolve(endpoint.endpointArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':endpoint/churn-endpoint']],
    });
    expect([endpoint.endpointName, endpoint.variantName]).toEqual(['Churn-Endpoint', 'AllTraffic']);
  });

  it('grants invoke on that endpoint and reports the same metrics as an endpoint CloudFormation owns', () => {
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    endpoint.grantInvoke(caller);
    const owned = endpointStack({ endpointName: 'Churn-Endpoint' }).endpoint;
    for (const name of ['metricInvocations', 'metricModelLatency', 'metricInvocation5XXErrors', 'metricGpuMemoryUtilization'] as const) {
      const [imported, created] = [endpoint[name](), owned[name]()];
      expect([imported.namespace, imported.metricName, imported.dimensions, imported.statistic, imported.period.toSeconds()]).toEqual([
        created.namespace,
        created.metricName,
        created.dimensions,
        created.statistic,
        60,
      ]);
    }
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync', 'sagemaker:InvokeEndpointWithResponseStream'],
            Resource: { 'Fn::Join': ['', Match.arrayWith([':endpoint/churn-endpoint'])] },
          },
        ],
      },
    });
  });

  it('gets a dashboard and alarms from Monitoring, which creates no endpoint resources for it', () => {
    const monitored = new Stack(testApp(), 'Monitored');
    new Monitoring(monitored, 'Monitoring', { endpoint: InferenceEndpoint.fromEndpointAttributes(monitored, 'Churn', { endpointName: 'churn', variantName: 'Blue' }) });
    const template = templateOf(monitored);
    template.resourceCountIs('AWS::SageMaker::Endpoint', 0);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ModelLatency',
      Dimensions: [{ Name: 'EndpointName', Value: 'churn' }, { Name: 'VariantName', Value: 'Blue' }],
    });
  });
});

describe('InferenceEndpoint.spec', () => {
  it('holds the settings it renders, every default applied', () => {
    const { stack, endpoint } = endpointStack({ instanceType: 'ml.m5.large' });
    expect(stack.resolve(endpoint.spec)).toEqual({
      endpointName: 'churn',
      variant: { kind: 'instances', variantName: 'AllTraffic', instanceType: 'ml.m5.large', initialInstanceCount: 1 },
      kmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^StoreKey/), 'Arn'] },
      dataCapture: {
        destinationS3Uri: { 'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^StoreBucket/) }, '/capture/churn/']] },
        samplingPercentage: 100,
        kmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^StoreKey/), 'Arn'] },
        jsonContentTypes: ['application/json', 'application/jsonlines'],
        csvContentTypes: ['text/csv'],
      },
      deployment: { canaryPercent: 10, canaryWaitSeconds: 300, terminationWaitSeconds: 300, rollbackAlarmNames: [] },
    });
  });

  it('leaves autoscaling to CloudFormation: the spec asks the pipeline to register none', () => {
    const { endpoint } = endpointStack({ instanceType: 'ml.m5.large' });
    endpoint.autoScaleInstanceCount();
    expect(endpoint.spec).not.toHaveProperty('autoScaling');
  });
});

