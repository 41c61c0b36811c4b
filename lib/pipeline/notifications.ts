import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/** What an SNS notification from the pipeline says happened. */
export type PipelineOutcome = 'DEPLOYED' | 'AWAITING_APPROVAL' | 'FAILED' | 'BATCH_TRANSFORM_COMPLETED';

/**
 * A state that publishes one JSON message about the run to the monitoring topic and passes its
 * input on unchanged. `details` are JSONPath fields (`JsonPath.stringAt(...)`) present on the
 * path that reaches this state.
 */
export function notifyState(
  scope: Construct,
  id: string,
  topic: sns.ITopic,
  pipeline: string,
  outcome: PipelineOutcome,
  details: Record<string, unknown>,
): tasks.SnsPublish {
  return new tasks.SnsPublish(scope, id, {
    topic,
    subject: `${pipeline}: ${outcome}`,
    message: sfn.TaskInput.fromObject({
      pipeline,
      outcome,
      execution: sfn.JsonPath.executionId,
      ...details,
    }),
    resultPath: sfn.JsonPath.DISCARD,
  });
}

/**
 * The shared failure path: every Catch lands here with the error in `$.error`; the topic hears
 * about it and the execution fails with the same error, so `ExecutionsFailed` alarms see it too.
 */
export function failurePath(scope: Construct, topic: sns.ITopic, pipeline: string): sfn.IChainable {
  return notifyState(scope, 'Notify failure', topic, pipeline, 'FAILED', {
    error: sfn.JsonPath.stringAt('$.error.Error'),
    cause: sfn.JsonPath.stringAt('$.error.Cause'),
  }).next(new sfn.Fail(scope, 'Failed', { errorPath: '$.error.Error', causePath: '$.error.Cause' }));
}
