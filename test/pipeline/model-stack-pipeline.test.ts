/**
 * How ModelStack hands its settings to the pipeline: an endpoint the pipeline creates (the first
 * deploy, no modelDataUrl) gets the stack's autoscaling from the pipeline, one CloudFormation
 * owns keeps CloudFormation's only; training jobs and deployed models run in the stack's VPC.
 */
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../bin/build-app.ts';
import type { ModelStackSettings } from '../../lib/model-stack-settings.ts';
import { templateOf, testApp } from '../helpers/cdk.ts';
import { actionsOf, statementsOf, type IamStatement as Statement } from './iam-statements.ts';
import { stateMachineDefinition } from './state-machine.ts';

const SCALING: ModelStackSettings['autoscaling'] = {
  minCapacity: 2,
  maxCapacity: 8,
  targetInvocationsPerInstance: 300,
  scaleOutCooldownSeconds: 30,
  schedules: [{ name: 'business-hours', expression: 'cron(0 8 ? * MON-FRI *)', minCapacity: 4 }],
};

function stackFor(settings: ModelStackSettings) {
  return buildApp(testApp({ context: { modelstack: { stackName: 'Churn', endpointName: 'churn', instanceType: 'ml.m5.large', initialInstanceCount: 2, ...settings } } }));
}

describe('a pipeline that creates the endpoint, with autoscaling settings', () => {
  const stack = stackFor({ autoscaling: SCALING });
  const template = templateOf(stack);
  const states = stateMachineDefinition(template, 'PipelineStateMachine').States;

  it('configures autoscaling after the endpoint settles InService on the new configuration, then announces the deployment', () => {
    expect(states['Endpoint settled?']!.Choices![0]!.Next).toBe('Configure autoscaling');
    expect(states['Configure autoscaling']!.Next).toBe('Notify deployed');
    // Rolled back or failed: the old configuration keeps the scaling it had; nothing to configure.
    expect(states['Endpoint settled?']!.Choices!.slice(1).map((choice) => choice.Next)).toEqual(['Deployment rolled back', 'Endpoint failed']);
    expect(states['Notify deployed']!.Parameters!['Message']).toMatchObject({ 'autoScaling.$': '$.autoScaling' });
  });

  it('hands the step the stack\'s settings, its defaults filled in once by the stack', () => {
    expect(states['Configure autoscaling']!.Parameters).toEqual({
      endpointName: 'churn',
      variantName: 'AllTraffic',
      autoScaling: {
        minCapacity: 2,
        maxCapacity: 8,
        targetInvocationsPerInstance: 300,
        scaleInCooldownSeconds: 300,
        scaleOutCooldownSeconds: 30,
        schedules: [{ name: 'business-hours', expression: 'cron(0 8 ? * MON-FRI *)', minCapacity: 4 }],
      },
    });
    expect(states['Configure autoscaling']!.ResultPath).toBe('$.autoScaling');
  });

  it('retries throttling and sends any other failure to the failure notification', () => {
    const step = states['Configure autoscaling']!;
    expect(step.Retry).toContainEqual(expect.objectContaining({ ErrorEquals: ['ThrottlingException', 'TooManyRequestsException', 'SlowDown', 'RequestLimitExceeded'], MaxAttempts: 6 }));
    expect(step.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Notify failure' }]);
  });

  it('lets the step scale only this endpoint and create only the SageMaker autoscaling service-linked role', () => {
    const statements = statementsOf(template, 'PipelineConfigureAutoScaling');
    const find = (action: string): Statement => statements.find((statement) => actionsOf(statement).includes(action))!;

    const register = find('application-autoscaling:RegisterScalableTarget');
    expect(actionsOf(register).sort()).toEqual(['application-autoscaling:PutScalingPolicy', 'application-autoscaling:PutScheduledAction', 'application-autoscaling:RegisterScalableTarget']);
    expect(JSON.stringify(register.Resource)).toMatch(/:application-autoscaling:.*:scalable-target\/\*"/);

    const sageMaker = find('sagemaker:UpdateEndpointWeightsAndCapacities');
    expect(actionsOf(sageMaker)).toEqual(['sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpointWeightsAndCapacities']);
    expect(JSON.stringify(sageMaker.Resource)).toMatch(/:endpoint\/churn"\]/);

    const linkedRole = find('iam:CreateServiceLinkedRole');
    expect(JSON.stringify(linkedRole.Resource)).toContain(':role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint');
    expect(linkedRole.Condition).toEqual({ StringEquals: { 'iam:AWSServiceName': 'sagemaker.application-autoscaling.amazonaws.com' } });

    expect(JSON.stringify(find('cloudwatch:PutMetricAlarm').Resource)).toContain(':alarm:TargetTracking-endpoint/churn/variant/AllTraffic-*');
    const everyAction = statements.flatMap(actionsOf);
    expect(everyAction.filter((action) => action.endsWith(':*') || action === '*')).toEqual([]);
    expect(everyAction).not.toContain('application-autoscaling:DeregisterScalableTarget');
  });

  it('leaves no cdk-nag finding unacknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});

describe('a pipeline that creates the endpoint, with autoscaling off', () => {
  const template = templateOf(stackFor({ autoscaling: false }));
  const states = stateMachineDefinition(template, 'PipelineStateMachine').States;

  it('tells the step autoscaling is off, and grants it no scaling permissions (it calls nothing)', () => {
    expect(states['Configure autoscaling']!.Parameters).toMatchObject({ autoScaling: false });
    expect(statementsOf(template, 'PipelineConfigureAutoScaling').flatMap(actionsOf).filter((action) => !action.startsWith('logs:') && !action.startsWith('xray:'))).toEqual([]);
  });
});

describe('a pipeline deploying to an endpoint CloudFormation owns', () => {
  const template = templateOf(stackFor({ modelDataUrl: 's3://bucket/models/job/output/model.tar.gz', autoscaling: SCALING }));
  const states = stateMachineDefinition(template, 'PipelineStateMachine').States;

  it('leaves scaling to CloudFormation: no autoscaling step, one scalable target with the same settings', () => {
    expect(states['Configure autoscaling']).toBeUndefined();
    expect(states['Endpoint settled?']!.Choices![0]!.Next).toBe('Notify deployed');
    expect(Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) => id.includes('ConfigureAutoScaling'))).toEqual([]);
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 1);
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 8 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: { TargetValue: 300, ScaleInCooldown: 300, ScaleOutCooldown: 30 },
    });
  });
});

describe('a stack in a VPC', () => {
  const vpc = { vpcId: 'vpc-0123abcd', subnetIds: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'], securityGroupIds: ['sg-0123abcd'] };
  const stack = stackFor({ vpc });
  const template = templateOf(stack);
  const states = stateMachineDefinition(template, 'PipelineStateMachine').States;

  it('trains in the stack\'s subnets and security groups', () => {
    expect(states['Train model']!.Parameters!['VpcConfig']).toEqual({ Subnets: vpc.subnetIds, SecurityGroupIds: vpc.securityGroupIds });
  });

  it('deploys models into the same subnets and security groups', () => {
    expect(states['Deploy model']!.Parameters).toMatchObject({ vpcConfig: { Subnets: vpc.subnetIds, SecurityGroupIds: vpc.securityGroupIds } });
  });

  it('lets the training role attach network interfaces, and leaves no cdk-nag finding unacknowledged', () => {
    expect(JSON.stringify(statementsOf(template, 'PipelineTrainingRole'))).toContain('ec2:CreateNetworkInterface');
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});

describe('a stack without a VPC', () => {
  it('trains and deploys outside any VPC', () => {
    const states = stateMachineDefinition(templateOf(stackFor({})), 'PipelineStateMachine').States;
    expect(states['Train model']!.Parameters!['VpcConfig']).toBeUndefined();
    expect(states['Deploy model']!.Parameters!['vpcConfig']).toBeUndefined();
  });
});

describe('one endpoint spec, rendered by CloudFormation and by the deploy step alike', () => {
  const settings: ModelStackSettings = { dataCapturePercent: 40, canaryPercent: 25, canaryWaitMinutes: 7, terminationWaitMinutes: 3 };
  const cloudFormation = templateOf(stackFor({ ...settings, modelDataUrl: 's3://bucket/models/job/output/model.tar.gz' }));
  const pipelineStack = stackFor(settings);
  const deployInput = stateMachineDefinition(templateOf(pipelineStack), 'PipelineStateMachine').States['Deploy model']!.Parameters!['endpoint'] as Record<string, unknown>;

  it('hands the deploy step the variant, capture and blue/green settings CloudFormation renders for an endpoint it owns', () => {
    const [config] = Object.values(cloudFormation.findResources('AWS::SageMaker::EndpointConfig')) as Array<{ Properties: Record<string, unknown> }>;
    const [endpoint] = Object.values(cloudFormation.findResources('AWS::SageMaker::Endpoint')) as Array<{ Properties: { DeploymentConfig: Record<string, unknown> } }>;
    expect(config!.Properties['ProductionVariants']).toEqual([expect.objectContaining({ VariantName: 'AllTraffic', InstanceType: 'ml.m5.large', InitialInstanceCount: 2 })]);
    expect(deployInput['variant']).toEqual({ kind: 'instances', variantName: 'AllTraffic', instanceType: 'ml.m5.large', initialInstanceCount: 2 });
    expect(config!.Properties['DataCaptureConfig']).toMatchObject({ InitialSamplingPercentage: 40, CaptureContentTypeHeader: { JsonContentTypes: ['application/json', 'application/jsonlines'], CsvContentTypes: ['text/csv'] } });
    expect(deployInput['dataCapture']).toMatchObject({ samplingPercentage: 40, jsonContentTypes: ['application/json', 'application/jsonlines'], csvContentTypes: ['text/csv'] });
    expect(endpoint!.Properties.DeploymentConfig['BlueGreenUpdatePolicy']).toEqual({
      TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 25 }, WaitIntervalInSeconds: 420 },
      TerminationWaitInSeconds: 180,
    });
    expect(deployInput['deployment']).toMatchObject({ canaryPercent: 25, canaryWaitSeconds: 420, terminationWaitSeconds: 180 });
  });

  it('rolls the pipeline\'s deployments back on the p99 latency and 5XX alarms, named explicitly (ml.m5.large has no GPU alarm)', () => {
    const alarmIds = Object.keys(templateOf(pipelineStack).findResources('AWS::CloudWatch::Alarm'));
    const id = (prefix: string): string => alarmIds.find((candidate) => candidate.startsWith(prefix))!;
    expect((deployInput['deployment'] as { rollbackAlarmNames: unknown }).rollbackAlarmNames).toEqual([`\${${id('MonitoringLatencyP99')}}`, `\${${id('MonitoringError5xxRate')}}`]);
  });

  it('puts the store key on the volume of a type without NVMe storage, in both renderings', () => {
    const [config] = Object.values(cloudFormation.findResources('AWS::SageMaker::EndpointConfig')) as Array<{ Properties: Record<string, unknown> }>;
    expect(config!.Properties['KmsKeyId']).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ModelStoreKey/), 'Arn'] });
    expect(deployInput['kmsKeyId']).toMatch(/^\$\{ModelStoreKey[0-9A-F]+\.Arn\}$/);
  });
});

describe('a pipeline that creates a serverless endpoint', () => {
  const template = templateOf(stackFor({ instanceType: undefined, initialInstanceCount: undefined, serverless: { memorySizeInMb: 3072, maxConcurrency: 8 } }));
  const states = stateMachineDefinition(template, 'PipelineStateMachine').States;

  it('hands the deploy step the serverless variant, with no key, capture or autoscaling step', () => {
    const endpoint = states['Deploy model']!.Parameters!['endpoint'];
    expect(endpoint).toMatchObject({ variant: { kind: 'serverless', variantName: 'AllTraffic', memorySizeInMb: 3072, maxConcurrency: 8 } });
    expect(endpoint).not.toHaveProperty('kmsKeyId');
    expect(endpoint).not.toHaveProperty('dataCapture');
    expect(states['Configure autoscaling']).toMatchObject({ Parameters: { autoScaling: false } });
  });
});
