import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PACKAGE_METADATA } from '../../lambda/shared/package-metadata.ts';
import { EXPECTED_DIGEST_ENV } from '../../model-runtime/src/artifact/expected-digest.ts';
import { ENDPOINT_DEFAULTS } from '../endpoint/endpoint-spec.ts';
import { describeInstanceType } from '../instance-type.ts';
import { logEncryptionKey } from '../log-encryption-key.ts';
import { ManagedPolicyRole } from '../managed-policy-role.ts';
import { ModelExecutionRole } from '../model-execution-role.ts';
import type { ModelStore } from '../model-store.ts';
import type { RuntimeImage } from '../runtime-image.ts';
import { sageMakerArn } from '../sagemaker-arn.ts';
import { PropValidationError, requireIntegerInRange } from '../validation.ts';
import { COMMON_REASONS, acknowledge, actionFinding, resourceFinding } from './nag-findings.ts';
import { failurePath, notifyState } from './notifications.ts';
import { TRANSFORM_JOB, integrationArn, passRoleStatement, syncJobStatements } from './sagemaker-arns.ts';
import { SAGEMAKER_INTEGRATION_RETRY } from './step-retries.ts';

export interface BatchTransformOptions {
  /**
   * Instance type of the transform job. As for training, types with local NVMe storage take no
   * volume KMS key (hardware-encrypted).
   * @default 'ml.g5.xlarge' (the endpoint's default: the same serving image on the same hardware)
   */
  readonly instanceType?: string;
  /**
   * Instances the input is split across (each takes whole files of the prefix).
   * @default 2 (allowed 1 to 100)
   */
  readonly instanceCount?: number;
  /**
   * Largest request (a mini-batch of lines) sent to one container.
   * @default 6 (MB, allowed 1 to 100)
   */
  readonly maxPayloadMb?: number;
  /**
   * Content type of the input lines.
   * @default 'text/csv'
   */
  readonly contentType?: string;
  /**
   * Accept header: the format of the predictions.
   * @default 'application/json'
   */
  readonly accept?: string;
  /**
   * Store prefix the predictions are written under, one folder per job.
   * @default 'predictions/'
   */
  readonly outputPrefix?: string;
  /**
   * Longest one batch transform execution may run.
   * @default Duration.days(1)
   */
  readonly timeout?: Duration;
}

export interface BatchTransformProps extends BatchTransformOptions {
  readonly modelStore: ModelStore;
  readonly image: RuntimeImage;
  readonly notificationTopic: sns.ITopic;
  /** Prefix of the model and job names; IAM allows `<prefix>-*`. */
  readonly namePrefix: string;
  /** The registry the model comes from: a given package, or the latest Approved one. */
  readonly modelPackageGroupName: string;
  /**
   * The customer-managed key the execution log group is encrypted with (execution data is logged).
   * @default a new key for this log group (TrainingPipeline passes the one of its own log groups)
   */
  readonly logsKey?: kms.IKey;
}

/**
 * Scores a dataset larger than one machine: a state machine that runs a SageMaker batch
 * transform job with the runtime image over an S3 prefix under data/, split line by line into
 * mini-batches (MultiRecord) across `instanceCount` instances, writing KMS-encrypted predictions
 * to `predictions/<job>/` in the store.
 *
 * Execution input: `{"input": "data/batch/2026-11/", "modelPackageArn"?: "arn:..."}`; without a
 * package ARN the latest Approved package of the group is used.
 */
export class BatchTransform extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** The role transform models run as: read models/ and data/, write the output prefix. */
  readonly role: iam.Role;
  readonly outputPrefix: string;

  constructor(scope: Construct, id: string, props: BatchTransformProps) {
    super(scope, id);
    const store = props.modelStore;
    const prefix = props.namePrefix;
    const instance = describeInstanceType('BatchTransform.instanceType', props.instanceType ?? ENDPOINT_DEFAULTS.instanceType);
    const instanceCount = props.instanceCount ?? 2;
    requireIntegerInRange('BatchTransform.instanceCount', instanceCount, 1, 100);
    const maxPayloadMb = props.maxPayloadMb ?? 6;
    requireIntegerInRange('BatchTransform.maxPayloadMb', maxPayloadMb, 1, 100);
    this.outputPrefix = props.outputPrefix ?? 'predictions/';
    if (!/^[a-z0-9][a-z0-9_-]*\/$/.test(this.outputPrefix) || this.outputPrefix === store.dataPrefix || this.outputPrefix === store.modelsPrefix) {
      throw new PropValidationError('BatchTransform.outputPrefix', `must be one folder name ending in "/" other than data/ and models/, e.g. "predictions/", got ${JSON.stringify(this.outputPrefix)}`);
    }

    this.role = new ModelExecutionRole(this, 'ModelRole', {
      modelStore: store,
      images: [props.image],
      readPrefixes: [store.modelsPrefix, store.dataPrefix],
      writePrefixes: [this.outputPrefix],
    }).role;

    const topic = props.notificationTopic;
    const onFailure = failurePath(this, topic, `${prefix} batch transform`);
    const packages = sageMakerArn(this, 'model-package', `${props.modelPackageGroupName}/*`);

    const invalidInput = new sfn.Pass(this, 'Input outside data prefix', {
      parameters: { Error: 'InvalidInput', Cause: `execution input must be {"input": "${store.dataPrefix}<folder>/"}: batch transform reads only under ${store.dataPrefix}` },
      resultPath: '$.error',
    }).next(onFailure);
    const givenPackage = new sfn.Pass(this, 'Use given package', { parameters: { 'arn.$': '$.modelPackageArn' }, resultPath: '$.package' });
    const latestPackage = new tasks.CallAwsService(this, 'Find latest approved package', {
      service: 'sagemaker',
      action: 'listModelPackages',
      parameters: { ModelPackageGroupName: props.modelPackageGroupName, ModelApprovalStatus: 'Approved', SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 1 },
      // ListModelPackages has no resource-level permissions.
      iamResources: ['*'],
      iamAction: 'sagemaker:ListModelPackages',
      // An empty list has no [0]: the selector fails and the run fails with "no approved package".
      resultSelector: { 'arn.$': '$.ModelPackageSummaryList[0].ModelPackageArn' },
      resultPath: '$.package',
    });
    const describePackage = new tasks.CallAwsService(this, 'Describe package', {
      service: 'sagemaker',
      action: 'describeModelPackage',
      parameters: { 'ModelPackageName.$': '$.package.arn' },
      iamResources: [packages],
      iamAction: 'sagemaker:DescribeModelPackage',
      resultSelector: {
        'image.$': '$.InferenceSpecification.Containers[0].Image',
        'modelDataUrl.$': '$.InferenceSpecification.Containers[0].ModelDataUrl',
        // The sealed digest the seal step registered; a package without one fails here (closed).
        'manifestDigest.$': `$.CustomerMetadataProperties['${PACKAGE_METADATA.manifestDigest}']`,
        'status.$': '$.ModelApprovalStatus',
      },
      resultPath: '$.packageDetails',
    });
    const notApproved = new sfn.Pass(this, 'Package not approved', {
      parameters: { Error: 'ModelNotApproved', 'Cause.$': "States.Format('model package {} is {}; only Approved packages score data', $.package.arn, $.packageDetails.status)" },
      resultPath: '$.error',
    }).next(onFailure);
    const names = new sfn.Pass(this, 'Name model and job', {
      parameters: {
        // Deterministic: the same package always maps to the same model, the same execution to the same job.
        'modelName.$': `States.Format('${prefix}-batch-{}', States.Hash($.package.arn, 'MD5'))`,
        'jobName.$': `States.Format('${prefix}-batch-{}', States.Hash($$.Execution.Id, 'MD5'))`,
      },
      resultPath: '$.names',
    });
    const createModel = new tasks.CallAwsService(this, 'Create model', {
      service: 'sagemaker',
      action: 'createModel',
      parameters: {
        'ModelName.$': '$.names.modelName',
        ExecutionRoleArn: this.role.roleArn,
        // The container refuses an archive whose manifest digest is not the registered one.
        PrimaryContainer: {
          'Image.$': '$.packageDetails.image',
          'ModelDataUrl.$': '$.packageDetails.modelDataUrl',
          Environment: { [`${EXPECTED_DIGEST_ENV}.$`]: '$.packageDetails.manifestDigest' },
        },
        EnableNetworkIsolation: true,
      },
      iamResources: [sageMakerArn(this, 'model', `${prefix}-*`)],
      iamAction: 'sagemaker:CreateModel',
      additionalIamStatements: [passRoleStatement(this.role)],
      resultPath: sfn.JsonPath.DISCARD,
    });
    const transform = new sfn.CustomState(this, 'Transform', {
      stateJson: {
        Type: 'Task',
        Resource: integrationArn('sagemaker:createTransformJob.sync'),
        Parameters: {
          'TransformJobName.$': '$.names.jobName',
          'ModelName.$': '$.names.modelName',
          BatchStrategy: 'MultiRecord',
          MaxPayloadInMB: maxPayloadMb,
          TransformInput: {
            DataSource: { S3DataSource: { S3DataType: 'S3Prefix', 'S3Uri.$': `States.Format('s3://${store.bucket.bucketName}/{}', $.input)` } },
            ContentType: props.contentType ?? 'text/csv',
            SplitType: 'Line',
          },
          TransformOutput: {
            'S3OutputPath.$': `States.Format('s3://${store.bucket.bucketName}/${this.outputPrefix}{}/', $.names.jobName)`,
            KmsKeyId: store.key.keyArn,
            AssembleWith: 'Line',
            Accept: props.accept ?? 'application/json',
          },
          TransformResources: {
            InstanceType: instance.name,
            InstanceCount: instanceCount,
            ...(instance.nvmeInstanceStorage ? {} : { VolumeKmsKeyId: store.key.keyArn }),
          },
          Tags: [{ Key: 'modelstack:pipeline', Value: prefix }],
        },
        ResultSelector: { 'jobName.$': '$.TransformJobName', 'output.$': '$.TransformOutput.S3OutputPath' },
        ResultPath: '$.transform',
      },
    });
    transform.addRetry(SAGEMAKER_INTEGRATION_RETRY);
    const done = notifyState(this, 'Notify completed', topic, `${prefix} batch transform`, 'BATCH_TRANSFORM_COMPLETED', {
      modelPackageArn: sfn.JsonPath.stringAt('$.package.arn'),
      transformJobName: sfn.JsonPath.stringAt('$.transform.jobName'),
      output: sfn.JsonPath.stringAt('$.transform.output'),
    }).next(new sfn.Succeed(this, 'Completed'));

    for (const state of [latestPackage, describePackage, transform]) state.addCatch(onFailure, { resultPath: '$.error' });
    // CreateModel on a name that exists (a rerun with the same package) is fine: go on to the
    // transform, which fails with "Could not find model" if the model really is missing.
    createModel.addCatch(transform, { errors: ['SageMaker.SageMakerException', 'SageMaker.ValidationException'], resultPath: '$.createModelError' });
    createModel.addCatch(onFailure, { resultPath: '$.error' });

    const scoring = describePackage.next(
      new sfn.Choice(this, 'Package approved?')
        .when(sfn.Condition.stringEquals('$.packageDetails.status', 'Approved'), names.next(createModel).next(transform).next(done))
        .otherwise(notApproved),
    );
    givenPackage.next(scoring);
    latestPackage.next(scoring);
    const definition = new sfn.Choice(this, 'Input under data prefix?')
      .when(
        sfn.Condition.and(sfn.Condition.isPresent('$.input'), sfn.Condition.stringMatches('$.input', `${store.dataPrefix}*`)),
        new sfn.Choice(this, 'Package given?').when(sfn.Condition.isPresent('$.modelPackageArn'), givenPackage).otherwise(latestPackage),
      )
      .otherwise(invalidInput);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      role: new ManagedPolicyRole(this, 'StateMachineRole', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com'), description: `modelstack ${prefix}: the batch transform state machine` }),
      timeout: props.timeout ?? Duration.days(1),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'ExecutionLogs', { retention: logs.RetentionDays.ONE_YEAR, encryptionKey: props.logsKey ?? logEncryptionKey(this, 'LogsKey', `modelstack ${prefix}: batch transform execution logs`), removalPolicy: RemovalPolicy.DESTROY }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
      comment: `modelstack ${prefix}: batch transform with the runtime image`,
    });
    for (const statement of syncJobStatements(this, TRANSFORM_JOB, `${prefix}-*`)) this.stateMachine.addToRolePolicy(statement);
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [store.key.keyArn],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
    );
    topic.masterKey?.grant(this.stateMachine, 'kms:Decrypt', 'kms:GenerateDataKey*');
    acknowledge(this.stateMachine.role, [
      { finding: 'IAM5[Resource::*]', reason: `sagemaker:ListModelPackages has no resource-level permissions. ${COMMON_REASONS.xray} CloudWatch Logs delivery for Step Functions has none either.` },
      { finding: actionFinding('kms:GenerateDataKey*'), reason: 'Publishing to the KMS-encrypted monitoring topic: GenerateDataKey* on the topic key only.' },
      { finding: resourceFinding(this, packages), reason: `Model package versions are numbered by SageMaker (${props.modelPackageGroupName}/<version>); read-only, this group only.` },
      { finding: resourceFinding(this, sageMakerArn(this, 'model', `${prefix}-*`)), reason: `Batch models are named <${prefix}>-batch-<hash of the package>; the pattern admits only this pipeline's models.` },
      { finding: resourceFinding(this, sageMakerArn(this, 'transform-job', `${prefix}-*`)), reason: `Transform jobs are named <${prefix}>-batch-<hash of the execution>; the pattern admits only this pipeline's jobs.` },
    ]);
  }

  /** Allows `grantee` to start batch transforms. */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }
}
