import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledgeRule } from '../compliance-findings.ts';
import { customerManagedKey } from '../customer-managed-key.ts';
import { ManagedPolicyRole } from '../managed-policy-role.ts';

export interface PipelineTriggersProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly bucket: s3.IBucket;
  readonly dataPrefix: string;
  /** Start a run for each new object under the data prefix (whose key ends with this suffix, if set). */
  readonly dataTrigger: { readonly suffix?: string } | false;
  readonly schedule?: events.Schedule;
  /** Start a deployment when a package in this group is approved (manual approval). */
  readonly approvalGroupName?: string;
  /** Hear about executions that timed out or were stopped (those skip the state machine's Catch). */
  readonly topic: sns.ITopic;
}

/**
 * What starts the pipeline besides `aws stepfunctions start-execution`: new training data in
 * S3 (via EventBridge), a schedule, and the approval of a model package; and what reports the
 * endings the state machine itself cannot (timeouts, manual stops).
 *
 * An event EventBridge cannot deliver (StartExecution throttled or refused after its retries, the
 * topic unreachable) would start no run and leave no trace: every rule's target sends such events
 * to one KMS-encrypted dead-letter queue, kept 14 days, whose first message raises an alarm on
 * the notification topic.
 */
export class PipelineTriggers extends Construct {
  readonly dataRule: events.Rule | undefined;
  readonly scheduleRule: events.Rule | undefined;
  readonly approvalRule: events.Rule | undefined;
  readonly abortedRule: events.Rule;
  /** Events a rule could not deliver to its target. */
  readonly deadLetterQueue: sqs.Queue;
  /** In alarm while the dead-letter queue holds an event; notifies the topic. */
  readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PipelineTriggersProps) {
    super(scope, id);
    const { stateMachine } = props;
    const eventsService = new iam.ServicePrincipal('events.amazonaws.com');
    // One role for every rule that starts the state machine: StartExecution on it, nothing else.
    const role = new ManagedPolicyRole(this, 'EventsRole', { assumedBy: eventsService, description: 'modelstack pipeline triggers: start the training state machine' });
    const deadLetterKey = customerManagedKey(this, 'DeadLetterKey', { description: 'modelstack pipeline triggers: events EventBridge could not deliver' });
    // EventBridge encrypts what it sends to the queue with the queue's key.
    deadLetterKey.grant(eventsService, 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: deadLetterKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Says what the queue is for (CT.SQS.PR.1): a dead-letter destination.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    acknowledgeRule(
      this.deadLetterQueue,
      'SQSQueueDLQ',
      'This queue is itself the dead-letter queue of the pipeline\'s EventBridge rules; its messages are read by an operator after the alarm, and a dead-letter queue behind it would hold nothing.',
    );
    acknowledgeRule(
      this.deadLetterQueue,
      'SQSRedrivePolicy',
      'A redrive policy moves messages a consumer keeps failing on; nothing consumes this dead-letter queue automatically (an operator inspects it after DeadLettersAlarm), so there is no failing consumer to redrive from.',
    );
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLettersAlarm', {
      alarmDescription: 'A pipeline trigger event could not be delivered (a run did not start, or a notice was lost): see the dead-letter queue',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm.addAlarmAction(new actions.SnsAction(props.topic));
    const start = (input: events.RuleTargetInput): targets.SfnStateMachine =>
      new targets.SfnStateMachine(stateMachine, { input, role, deadLetterQueue: this.deadLetterQueue });

    if (props.dataTrigger !== false) {
      const suffix = props.dataTrigger.suffix;
      this.dataRule = new events.Rule(this, 'NewData', {
        description: `Train when an object lands under ${props.dataPrefix}${suffix ? ` ending in ${suffix}` : ''}`,
        eventPattern: {
          source: ['aws.s3'],
          detailType: ['Object Created'],
          detail: {
            bucket: { name: [props.bucket.bucketName] },
            object: { key: suffix ? events.Match.wildcard(`${props.dataPrefix}*${suffix}`) : events.Match.prefix(props.dataPrefix) },
          },
        },
        targets: [start(events.RuleTargetInput.fromObject({ trigger: 's3', objectKey: events.EventField.fromPath('$.detail.object.key') }))],
      });
      // S3 sends "Object Created" events to EventBridge only when the bucket says so. Set on the
      // L1 bucket directly: Bucket.enableEventBridgeNotification() would add a custom resource.
      const cfnBucket = props.bucket.node.defaultChild as s3.CfnBucket | undefined;
      cfnBucket?.addPropertyOverride('NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled', true);
    }

    if (props.schedule) {
      this.scheduleRule = new events.Rule(this, 'Schedule', {
        description: 'Retrain on a schedule',
        schedule: props.schedule,
        targets: [start(events.RuleTargetInput.fromObject({ trigger: 'schedule' }))],
      });
    }

    if (props.approvalGroupName !== undefined) {
      this.approvalRule = new events.Rule(this, 'PackageApproved', {
        description: `Deploy a model package when it is approved in ${props.approvalGroupName}`,
        eventPattern: {
          source: ['aws.sagemaker'],
          detailType: ['SageMaker Model Package State Change'],
          detail: { ModelPackageGroupName: [props.approvalGroupName], ModelApprovalStatus: ['Approved'] },
        },
        targets: [start(events.RuleTargetInput.fromObject({ trigger: 'approval', modelPackageArn: events.EventField.fromPath('$.detail.ModelPackageArn') }))],
      });
    }

    this.abortedRule = new events.Rule(this, 'ExecutionAborted', {
      description: 'Notify when a pipeline execution times out or is stopped',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [stateMachine.stateMachineArn], status: ['TIMED_OUT', 'ABORTED'] },
      },
      targets: [
        new targets.SnsTopic(props.topic, {
          message: events.RuleTargetInput.fromObject({
            outcome: events.EventField.fromPath('$.detail.status'),
            execution: events.EventField.fromPath('$.detail.executionArn'),
          }),
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
    // EventBridge must be allowed to encrypt with the topic's key to publish to it.
    props.topic.masterKey?.grant(new iam.ServicePrincipal('events.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
  }
}
