import { Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { sageMakerArn } from '../sagemaker-arn.ts';

/** The ARN of a Step Functions optimized integration, e.g. `sagemaker:createTrainingJob.sync`. */
export function integrationArn(action: string): string {
  return `arn:${Aws.PARTITION}:states:::${action}`;
}

/**
 * What the state machine role needs to run a SageMaker job through a `.sync` integration: create,
 * describe and stop jobs named `<namePattern>`, and the managed EventBridge rule Step Functions
 * uses to learn when the job ends.
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html
 */
export function syncJobStatements(
  scope: IConstruct,
  job: { readonly resourceType: string; readonly apiName: string; readonly ruleName: string; readonly extraActions?: readonly string[] },
  namePattern: string,
): iam.PolicyStatement[] {
  const jobArn = sageMakerArn(scope, job.resourceType, namePattern);
  return [
    new iam.PolicyStatement({
      actions: [
        `sagemaker:Create${job.apiName}`,
        `sagemaker:Describe${job.apiName}`,
        `sagemaker:Stop${job.apiName}`,
        'sagemaker:AddTags',
        'sagemaker:ListTags',
        ...(job.extraActions ?? []),
      ],
      resources: [jobArn],
    }),
    new iam.PolicyStatement({
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [Stack.of(scope).formatArn({ service: 'events', resource: 'rule', resourceName: job.ruleName })],
    }),
  ];
}

export const TRAINING_JOB = { resourceType: 'training-job', apiName: 'TrainingJob', ruleName: 'StepFunctionsGetEventsForSageMakerTrainingJobsRule' } as const;
export const TUNING_JOB = {
  resourceType: 'hyper-parameter-tuning-job',
  apiName: 'HyperParameterTuningJob',
  ruleName: 'StepFunctionsGetEventsForSageMakerTuningJobsRule',
  // The .sync integration lists the tuning job's training jobs while it waits (Step Functions' own policy template).
  extraActions: ['sagemaker:ListTrainingJobsForHyperParameterTuningJob'],
} as const;
export const TRANSFORM_JOB = { resourceType: 'transform-job', apiName: 'TransformJob', ruleName: 'StepFunctionsGetEventsForSageMakerTransformJobsRule' } as const;

/** iam:PassRole for exactly `role`, and only to SageMaker. */
export function passRoleStatement(role: iam.IRole): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['iam:PassRole'],
    resources: [role.roleArn],
    conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
  });
}
