/**
 * What the compliance fixes do for a user: the Lambda steps in the stack's VPC, their log groups
 * (and the state machines') under the pipeline's own key, reserved concurrency on request, and
 * undeliverable trigger events kept in an encrypted dead-letter queue that raises an alarm.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { logicalIdOf } from '../helpers/cdk.ts';
import { statementsOf, actionsOf } from './iam-statements.ts';
import { pipelineStack } from './pipeline-stack.ts';

describe('the pipeline in a VPC, with reserved concurrency', () => {
  const { stack, pipeline } = pipelineStack({ reservedConcurrency: 2 }, {}, true);
  const template = Template.fromStack(stack);
  const steps = Object.values(pipeline.functions).filter((step) => step !== undefined);

  it('runs every Lambda step in the private subnets with the pipeline security group, and lets each attach to them', () => {
    expect(steps.length).toBeGreaterThanOrEqual(5);
    const securityGroup = logicalIdOf(pipeline.node.findChild('SecurityGroup'));
    for (const step of steps) {
      const resource = template.toJSON().Resources[logicalIdOf(step.function)];
      expect(resource.Properties.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [securityGroup, 'GroupId'] }]);
      expect(JSON.stringify(resource.Properties.VpcConfig.SubnetIds)).toContain('PrivateSubnet');
      expect(resource.Properties.ReservedConcurrentExecutions).toBe(2);
      expect(statementsOf(template, logicalIdOf(step.role)).flatMap(actionsOf)).toContain('ec2:CreateNetworkInterface');
    }
  });

  it('refuses a reservation outside 1 to 1000, naming the prop', () => {
    expect(() => pipelineStack({ reservedConcurrency: 0 })).toThrow('TrainingPipeline.reservedConcurrency: must be an integer from 1 to 1000, got 0');
  });
});

describe('the pipeline without a VPC', () => {
  const { stack, pipeline } = pipelineStack();
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;

  it('runs the steps outside any VPC, with no reserved concurrency', () => {
    for (const step of Object.values(pipeline.functions).filter((candidate) => candidate !== undefined)) {
      const properties = resources[logicalIdOf(step.function)]!.Properties;
      expect(properties.VpcConfig).toBeUndefined();
      expect(properties.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it('encrypts every log group with the pipeline logs key, which CloudWatch Logs may use for this account\'s log groups only', () => {
    const keyId = logicalIdOf(pipeline.node.findChild('LogsKey'));
    const logGroups = Object.values(resources).filter((resource) => resource.Type === 'AWS::Logs::LogGroup');
    expect(logGroups.length).toBeGreaterThanOrEqual(7);
    for (const group of logGroups) expect(group.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const statements = (resources[keyId]!.Properties.KeyPolicy as { Statement: Array<Record<string, unknown>> }).Statement;
    const logsStatement = statements.find((statement) => statement.Sid === 'CloudWatchLogsOfThisAccount')!;
    expect(JSON.stringify(logsStatement.Principal)).toContain('logs.');
    expect(JSON.stringify(logsStatement.Condition)).toContain('kms:EncryptionContext:aws:logs:arn');
    expect(statements.find((statement) => statement.Sid === 'DenyGrantsExceptForAwsServices')).toMatchObject({
      Effect: 'Deny',
      Action: 'kms:CreateGrant',
      Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    });
  });

  it('sends every trigger event EventBridge cannot deliver to one KMS-encrypted queue, whose first message alarms on the topic', () => {
    const triggers = pipeline.triggers;
    const queueArn = { 'Fn::GetAtt': [logicalIdOf(triggers.deadLetterQueue), 'Arn'] };
    const rules = Object.values(resources).filter((resource) => resource.Type === 'AWS::Events::Rule');
    expect(rules.length).toBeGreaterThanOrEqual(3);
    for (const rule of rules) {
      for (const target of rule.Properties.Targets as Array<{ DeadLetterConfig?: unknown }>) expect(target.DeadLetterConfig).toEqual({ Arn: queueArn });
    }
    expect(resources[logicalIdOf(triggers.deadLetterQueue)]!.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [logicalIdOf(triggers.node.findChild('DeadLetterKey')), 'Arn'] });
    const alarm = resources[logicalIdOf(triggers.deadLetterAlarm)]!.Properties;
    expect(alarm).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarm.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^NotificationsTopic/) }]);
  });
});
