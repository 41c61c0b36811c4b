import { Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMES } from '../../model-runtime/src/contract/metrics.ts';
import { InferenceEndpoint } from '../../lib/endpoint/inference-endpoint.ts';
import { Monitoring, type MonitoringProps } from '../../lib/monitoring.ts';
import { logicalIdOf, templateOf, testApp } from '../helpers/cdk.ts';

function monitoringStack(props: Partial<MonitoringProps> = {}) {
  const stack = new Stack(testApp(), 'Monitoring');
  const monitoring = new Monitoring(stack, 'Monitoring', { endpoint: InferenceEndpoint.fromEndpointName(stack, 'Churn', 'churn'), ...props });
  return { stack, monitoring };
}

describe('Monitoring', () => {
  const { stack, monitoring } = monitoringStack({ alarmEmail: 'ops@example.com', latencyP99Threshold: Duration.millis(250) });
  const template = templateOf(stack);

  it('notifies a KMS-encrypted, TLS-only topic with an e-mail subscription', () => {
    const topic = template.findResources('AWS::SNS::Topic')[logicalIdOf(monitoring.topic)];
    expect(topic?.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [logicalIdOf(monitoring.topic.masterKey!), 'Arn'] });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] })]) },
    });
  });

  it('alarms on p99 latency, 5XX rate, 4XX rate and GPU memory, each notifying the topic on alarm and recovery', () => {
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    expect(Object.keys(alarms)).toHaveLength(4);
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/AlarmsTopic/) }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: expect.stringMatching(/AlarmsTopic/) }]);
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ModelLatency', ExtendedStatistic: 'p99', Threshold: 250_000, Namespace: 'AWS/SageMaker' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'GPUMemoryUtilization', Namespace: '/aws/sagemaker/Endpoints', Threshold: 90 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(invocations > 0, 100 * errors / invocations, 0)' }),
        Match.objectLike({ Id: 'errors', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'Invocation5XXErrors' }) }) }),
      ]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 10,
      Metrics: Match.arrayWith([Match.objectLike({ Id: 'errors', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'Invocation4XXErrors' }) }) })]),
    });
  });

  it('rolls back on latency, 5XX and GPU memory, not on the 4XX abuse signal', () => {
    expect(monitoring.rollbackAlarms).toHaveLength(3);
    expect(monitoring.rollbackAlarms).not.toContain(monitoring.error4xxAlarm);
  });

  it("draws latency percentiles, traffic, fleet, utilisation and every training metric the runtime prints", () => {
    const body = JSON.stringify(stack.resolve(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody));
    for (const stat of ['p50', 'p90', 'p99']) expect(body).toContain(`\\"stat\\":\\"${stat}\\"`);
    for (const name of ['Invocations', 'Invocation4XXErrors', 'Invocation5XXErrors', 'CPUUtilization', 'MemoryUtilization', 'GPUUtilization', 'GPUMemoryUtilization', 'DiskUtilization', 'SampleCount']) {
      expect(body).toContain(name);
    }
    for (const name of METRIC_NAMES.filter((n) => n !== 'epoch')) {
      expect(body).toContain(`SEARCH('{/aws/sagemaker/TrainingJobs,Host} MetricName=\\\\\\"${name}\\\\\\"'`);
    }
  });

  it('leaves GPU graphs and the GPU alarm out for CPU endpoints', () => {
    const cpu = templateOf(monitoringStack({ gpu: false }).stack);
    expect(Object.keys(cpu.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(3);
    expect(JSON.stringify(cpu.findResources('AWS::CloudWatch::Dashboard'))).not.toContain('GPUUtilization');
  });

  it.each<[Partial<MonitoringProps>, RegExp]>([
    [{ error5xxRatePercent: 150 }, /Monitoring\.error5xxRatePercent: must be a number from 0 to 100, got 150/],
    [{ error4xxRatePercent: -1 }, /Monitoring\.error4xxRatePercent: must be a number from 0 to 100, got -1/],
    [{ latencyP99Threshold: Duration.minutes(5) }, /Monitoring\.latencyP99Threshold \(ms\): must be a number from 1 to 60000, got 300000/],
    [{ evaluationPeriods: 2, datapointsToAlarm: 3 }, /Monitoring\.datapointsToAlarm: must be an integer from 1 to 2, got 3/],
    [{ alarmEmail: 'not-an-address' }, /EncryptedTopic\.email: must be an e-mail address/],
  ])('rejects %o naming the prop', (props, message) => {
    expect(() => monitoringStack(props)).toThrow(message);
  });
});
