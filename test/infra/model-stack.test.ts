import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../bin/build-app.ts';
import type { ModelStackSettings } from '../../lib/model-stack-settings.ts';
import { assetHashSerializer, logicalIdOf, templateOf, testApp } from '../helpers/cdk.ts';
import { awsManagedPoliciesOf } from '../pipeline/iam-statements.ts';

expect.addSnapshotSerializer(assetHashSerializer);

const MODEL = 's3://modelstack-models/models/job-1/output/model.tar.gz';

/** The stack exactly as bin/app.ts builds it, from `settings` in the CDK context. */
function stackFor(settings: ModelStackSettings) {
  return buildApp(testApp({ context: { modelstack: settings } }));
}

describe('ModelStack with a model to serve', () => {
  const stack = stackFor({ modelDataUrl: MODEL, alarmEmail: 'ops@example.com' });
  const template = templateOf(stack);

  it('matches the snapshot (asset hashes masked)', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  it('wires the p99 latency, 5XX and GPU memory alarms into the endpoint automatic rollback, and not the 4XX abuse alarm', () => {
    const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    const alarmId = (prefix: string): string => {
      const ids = alarmIds.filter((id) => id.startsWith(prefix));
      expect(ids, prefix).toHaveLength(1);
      return ids[0]!;
    };
    const [endpoint] = Object.values(template.findResources('AWS::SageMaker::Endpoint'));
    expect(endpoint!.Properties.DeploymentConfig.AutoRollbackConfiguration).toEqual({
      Alarms: [
        { AlarmName: { Ref: alarmId('MonitoringLatencyP99') } },
        { AlarmName: { Ref: alarmId('MonitoringError5xxRate') } },
        { AlarmName: { Ref: alarmId('MonitoringGpuMemory') } },
      ],
    });
    expect(alarmId('MonitoringError4xxRate')).toBeDefined();
  });

  it('has the store key with rotation, an SSL-only versioned bucket, capture, scaling, dashboard, >= 3 alarms and an encrypted topic', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { DestinationBucketName: { Ref: logicalIdOf(stack.modelStore.accessLogsBucket) } },
    });
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', { DataCaptureConfig: Match.objectLike({ EnableCapture: true }) });
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 1);
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', { PolicyType: 'TargetTrackingScaling' });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).length).toBeGreaterThanOrEqual(3);
    const alarmTopic = template.findResources('AWS::SNS::Topic')[logicalIdOf(stack.monitoring.topic)];
    expect(alarmTopic?.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack.monitoring.topic.masterKey!), 'Arn'] });
  });

  it('uses no AWS managed policy at all, so never AmazonSageMakerFullAccess', () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toContain('FullAccess');
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) expect(awsManagedPoliciesOf(role)).toEqual([]);
  });

  it('serves the GPU image on the GPU default and outputs what a user needs after deploy', () => {
    expect(stack.servingImage.flavour).toBe('gpu');
    for (const output of ['ModelStoreBucketName', 'EndpointName', 'ServingRoleArn', 'ServingImageUri', 'AlarmTopicArn', 'DashboardName']) {
      template.hasOutput(output, Match.anyValue());
    }
  });
});

describe('ModelStack before the first model', () => {
  const stack = stackFor({});
  const template = templateOf(stack);

  it('deploys store, role, image and monitoring, and no endpoint (the pipeline creates it)', () => {
    expect(stack.inferenceEndpoint).toBeUndefined();
    template.resourceCountIs('AWS::SageMaker::Endpoint', 0);
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    template.resourceCountIs('AWS::S3::Bucket', 2);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasOutput('EndpointName', { Value: 'ModelStack' });
  });

  it('resolves the spec the pipeline creates the endpoint from: the default GPU variant, no volume key on g5, full capture, the stack\'s autoscaling', () => {
    const spec = stack.endpointSpec;
    expect(spec.variant).toEqual({ kind: 'instances', variantName: 'AllTraffic', instanceType: 'ml.g5.xlarge', initialInstanceCount: 1 });
    expect(spec.kmsKeyId).toBeUndefined();
    expect(stack.resolve(spec.dataCapture?.destinationS3Uri)).toEqual({ 'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^ModelStoreBucket/) }, '/capture/ModelStack/']] });
    expect(spec.dataCapture?.samplingPercentage).toBe(100);
    expect(spec.deployment).toMatchObject({ canaryPercent: 10, canaryWaitSeconds: 300, terminationWaitSeconds: 300 });
    expect(spec.autoScaling).toMatchObject({ minCapacity: 1, maxCapacity: 4, targetInvocationsPerInstance: 100 });
  });

  it('watches the endpoint the pipeline will create by name, with the same dashboard and alarms', () => {
    expect([stack.endpoint.endpointName, stack.endpoint.variantName]).toEqual(['ModelStack', 'AllTraffic']);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ModelLatency',
      Dimensions: [{ Name: 'EndpointName', Value: 'ModelStack' }, { Name: 'VariantName', Value: 'AllTraffic' }],
    });
  });
});

describe('ModelStack on CPU instances', () => {
  it('builds the CPU image for a CPU type and the arm64 CPU image for Graviton', () => {
    expect(stackFor({ modelDataUrl: MODEL, instanceType: 'ml.m5.large' }).servingImage.flavour).toBe('cpu');
    const graviton = stackFor({ modelDataUrl: MODEL, instanceType: 'ml.c7g.large' });
    expect([graviton.servingImage.flavour, graviton.servingImage.node.id]).toEqual(['cpu', 'RuntimeImage-cpu-arm64']);
  });

  it('passes the configured digest to the serving container, and refuses one without modelDataUrl', () => {
    const digest = 'cd'.repeat(32);
    templateOf(stackFor({ modelDataUrl: MODEL, instanceType: 'ml.m5.large', modelDigest: digest })).hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: Match.objectLike({ Environment: { MODEL_RUNTIME_EXPECTED_DIGEST: digest } }),
    });
    expect(() => stackFor({ modelDigest: digest })).toThrow(/ModelStack\.modelDigest: is the digest of `modelDataUrl` and needs it/);
  });

  it('names the config key when the instance type is wrong', () => {
    expect(() => stackFor({ instanceType: 'ml.t3.medium', modelDataUrl: MODEL })).toThrow(/instanceType: burstable ml\.t3\.medium/);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it.each<[string, ModelStackSettings]>([
    ['the first deploy (no model)', {}],
    ['a GPU endpoint with autoscaling and e-mail alarms', { modelDataUrl: MODEL, alarmEmail: 'ops@example.com' }],
    ['an async CPU endpoint in a VPC', { modelDataUrl: MODEL, instanceType: 'ml.m5.large', asyncInference: true, vpc: { vpcId: 'vpc-0123abcd', subnetIds: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'] } }],
    ['a serverless endpoint', { modelDataUrl: MODEL, serverless: { memorySizeInMb: 3072 } }],
    ['a serverless endpoint the pipeline creates', { serverless: { memorySizeInMb: 3072 } }],
  ])('reports no unacknowledged finding for %s', (_name, settings) => {
    const stack = stackFor(settings);
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it('acknowledges every finding with a reason of its own', () => {
    const stack = stackFor({ modelDataUrl: MODEL, asyncInference: true });
    const reasons = new Map<string, string>();
    for (const construct of stack.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== 'aws:cdk:acknowledged-rules') continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) reasons.set(`${construct.node.path} ${id}`, reason);
      }
    }
    expect(reasons.size).toBeGreaterThan(0);
    for (const reason of reasons.values()) expect(reason.length).toBeGreaterThan(40);
    const distinctReasons = new Set(reasons.values());
    const distinctIds = new Set([...reasons.keys()].map((key) => key.split(' ')[1]));
    // One reason per finding id: no blanket text pasted over different findings.
    expect(distinctReasons.size).toBeGreaterThanOrEqual(distinctIds.size - 1);
  });
});
