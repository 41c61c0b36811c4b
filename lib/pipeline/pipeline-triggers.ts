import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

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
 */
export class PipelineTriggers extends Construct {
  readonly dataRule: events.Rule | undefined;
  readonly scheduleRule: events.Rule | undefined;
  readonly approvalRule: events.Rule | undefined;
  readonly abortedRule: events.Rule;

  constructor(scope: Construct, id: string, props: PipelineTriggersProps) {
    super(scope, id);
    const { stateMachine } = props;

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
        targets: [
          new targets.SfnStateMachine(stateMachine, {
            input: events.RuleTargetInput.fromObject({ trigger: 's3', objectKey: events.EventField.fromPath('$.detail.object.key') }),
          }),
        ],
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
        targets: [new targets.SfnStateMachine(stateMachine, { input: events.RuleTargetInput.fromObject({ trigger: 'schedule' }) })],
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
        targets: [
          new targets.SfnStateMachine(stateMachine, {
            input: events.RuleTargetInput.fromObject({ trigger: 'approval', modelPackageArn: events.EventField.fromPath('$.detail.ModelPackageArn') }),
          }),
        ],
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
        }),
      ],
    });
    // EventBridge must be allowed to encrypt with the topic's key to publish to it.
    props.topic.masterKey?.grant(new iam.ServicePrincipal('events.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
  }
}
