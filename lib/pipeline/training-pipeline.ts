import { Duration, Lazy, RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { HyperparameterError, parseHyperparameters } from '../../model-runtime/src/contract/hyperparameters.ts';
import { METRIC_NAMES, type MetricName } from '../../model-runtime/src/contract/metrics.ts';
import { ENDPOINT_DEFAULTS, type EndpointDeploymentSpec, type EndpointSpec } from '../endpoint/endpoint-spec.ts';
import type { IInferenceEndpoint } from '../endpoint/inference-endpoint-base.ts';
import { describeInstanceType } from '../instance-type.ts';
import { logEncryptionKey } from '../log-encryption-key.ts';
import { ManagedPolicyRole } from '../managed-policy-role.ts';
import type { ModelStore } from '../model-store.ts';
import type { RuntimeImage } from '../runtime-image.ts';
import { sageMakerArn } from '../sagemaker-arn.ts';
import { PropValidationError, requireIntegerInRange, requireMatch, requireNumberInRange } from '../validation.ts';
import { autoScalingFunction } from './autoscaling-function.ts';
import { BatchTransform, type BatchTransformOptions } from './batch-transform.ts';
import { deploymentStates } from './deployment-states.ts';
import { COMMON_REASONS, acknowledge, actionFinding, resourceFinding } from './nag-findings.ts';
import { failurePath, notifyState } from './notifications.ts';
import { PipelineFunction, type PipelineFunctionProps } from './pipeline-function.ts';
import { PipelineTriggers } from './pipeline-triggers.ts';
import { TRAINING_JOB, TUNING_JOB, passRoleStatement, syncJobStatements } from './sagemaker-arns.ts';
import { ENDPOINT_BUSY_RETRY, THROTTLING_RETRY } from './step-retries.ts';
import { TUNED_HYPERPARAMETERS, trainingJobState, tuningJobState, type HyperparameterRange } from './training-job-states.ts';
import { TRAINING_INSTANCE_COUNT_EXPECTED, isTrainingInstanceCount } from './training-instance-count.ts';
import { TrainingRole } from './training-role.ts';

/** The metric the evaluation gate (and tuning) optimises, and the bar a model must clear. */
export interface PipelineObjective {
  /**
   * A metric the runtime prints (model-runtime/src/contract/metrics.ts).
   * @default 'validation_loss'
   */
  readonly metric?: MetricName;
  /**
   * @default 'maximize' for *_accuracy metrics, 'minimize' otherwise
   */
  readonly goal?: 'minimize' | 'maximize';
  /**
   * minimize: the metric must be <= threshold; maximize: >= threshold. The default suits the
   * runtime's standardised regression targets (a validation MSE of 1 is no better than always
   * predicting the mean); set it for your model.
   * @default 1
   */
  readonly threshold?: number;
}

/** Hyperparameter tuning of learning rate and batch size (the seed's tuning). */
export interface PipelineTuningOptions {
  /**
   * Training jobs the tuning job may run in total.
   * @default 12 (allowed 1 to 500)
   */
  readonly maxJobs?: number;
  /**
   * Training jobs running at once.
   * @default 3 (allowed 1 to 100, at most maxJobs)
   */
  readonly maxParallelJobs?: number;
  /**
   * learning_rate range, searched on a log scale.
   * @default { min: 0.0001, max: 0.1 }
   */
  readonly learningRate?: HyperparameterRange;
  /**
   * batch_size range (integers), searched on a log scale.
   * @default { min: 16, max: 512 }
   */
  readonly batchSize?: HyperparameterRange;
}

export interface TrainingPipelineProps {
  /** Where data is read from and models, checkpoints and digests are written to. */
  readonly modelStore: ModelStore;
  /** The runtime image training and tuning jobs run. */
  readonly image: RuntimeImage;
  /**
   * The runtime image registered with each model package and served (e.g. the CPU flavour when
   * the endpoint runs on CPU instances while training uses a GPU).
   * @default image
   */
  readonly servingImage?: RuntimeImage;
  /**
   * The endpoint new models are deployed to: an InferenceEndpoint (CloudFormation owns it), or
   * `InferenceEndpoint.fromEndpointName(...)` for one the pipeline's first deployment creates.
   */
  readonly endpoint: IInferenceEndpoint;
  /**
   * The endpoint's settings, defaults applied: `InferenceEndpoint.spec`, or `resolveEndpointSpec(...)`
   * for an endpoint the pipeline creates. The deploy step creates a missing endpoint from them and
   * rolls every update out with their blue/green settings and rollback alarms; when they carry
   * `autoScaling`, the pipeline registers it after each deployment.
   */
  readonly endpointSpec: EndpointSpec;
  /** The role the models the pipeline deploys run as (the endpoint's execution role). */
  readonly modelRole: iam.IRole;
  /** The monitoring topic: every outcome of every run is published here. */
  readonly notificationTopic: sns.ITopic;

  /**
   * Prefix of every name the pipeline gives SageMaker resources (jobs, models, endpoint
   * configurations); its IAM policies allow exactly `<prefix>-*`. Lowercase letters, digits
   * and hyphens, 1 to 14 characters (tuning job names stop at 32).
   * @default 'modelstack'
   */
  readonly namePrefix?: string;
  /**
   * Training instance type. SageMaker rejects a volume KMS key on types with local NVMe storage
   * (g5, p4d, ...): those volumes are encrypted by the instance's hardware instead.
   * @default 'ml.g5.2xlarge'
   */
  readonly instanceType?: string;
  /**
   * Training instances. Only 1 is allowed: the runtime trains on one instance, and each extra
   * one would train the same model on all the data again (N times the cost).
   * @default 1 (allowed 1)
   */
  readonly instanceCount?: number;
  /**
   * ML storage volume per instance.
   * @default 50 (allowed 1 to 16384)
   */
  readonly volumeSizeGb?: number;
  /**
   * Longest a training job may train.
   * @default Duration.hours(24) (allowed up to 28 days)
   */
  readonly maxRuntime?: Duration;
  /**
   * Managed spot training (up to ~70% cheaper); jobs resume from checkpoints/ after interruption.
   * @default true
   */
  readonly spot?: boolean;
  /**
   * Longest a spot job may wait for capacity plus train; must be >= maxRuntime.
   * @default twice maxRuntime, capped to end an hour before `timeout` (and never below maxRuntime)
   */
  readonly maxWait?: Duration;
  /**
   * Hyperparameters for every run (strings, names as the runtime reads them); an execution's
   * input may override them.
   * @default {}
   */
  readonly hyperparameters?: Readonly<Record<string, string>>;
  /**
   * Tune learning_rate and batch_size with a SageMaker tuning job (execution input
   * `{"mode": "train"}` still runs a single job).
   * @default - no tuning; every run trains one job
   */
  readonly tuning?: PipelineTuningOptions;
  /**
   * @default { metric: 'validation_loss', goal: 'minimize', threshold: 1 }
   */
  readonly objective?: PipelineObjective;
  /**
   * 'automatic': a model that passes evaluation is registered Approved and deployed in the same
   * run. 'manual': it is registered PendingManualApproval and the run ends; approving the package
   * (console or `aws sagemaker update-model-package`) starts the deployment.
   * @default 'manual'
   */
  readonly approval?: 'automatic' | 'manual';
  /**
   * Start a run when an object lands under the store's data prefix; `suffix` limits it to keys
   * ending in e.g. `_SUCCESS`, so uploading a folder of parts starts one run, not one per part.
   * `false` turns the trigger off.
   * @default {} (every new object under data/)
   */
  readonly dataTrigger?: { readonly suffix?: string } | false;
  /**
   * Retrain on a schedule.
   * @default - no schedule
   */
  readonly schedule?: events.Schedule;
  /**
   * Run training jobs, models and the pipeline's Lambda steps in this VPC. The steps call S3,
   * SageMaker, Application Auto Scaling and X-Ray: the subnets need a route to them (a NAT
   * gateway, or VPC endpoints: an S3 gateway endpoint and interface endpoints for
   * `sagemaker.api`, `application-autoscaling` and `xray`).
   * @default - no VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * @default - one security group without ingress
   */
  readonly securityGroups?: ReadonlyArray<ec2.ISecurityGroup>;
  /**
   * Training containers and deployed models get no network access.
   * @default true
   */
  readonly networkIsolation?: boolean;
  /**
   * Encrypt traffic between the instances of a distributed training job.
   * @default true
   */
  readonly interContainerEncryption?: boolean;
  /**
   * Name of the model package group (the registry) created for this pipeline.
   * @default namePrefix
   */
  readonly modelPackageGroupName?: string;
  /**
   * How often the deployment checks the endpoint.
   * @default Duration.minutes(1) (allowed 10 seconds to 1 hour)
   */
  readonly pollInterval?: Duration;
  /**
   * Longest one execution may run (training, tuning and deployment together).
   * @default Duration.days(7)
   */
  readonly timeout?: Duration;
  /**
   * Content types the runtime accepts, recorded on each model package.
   * @default ['text/csv', 'application/json']
   */
  readonly contentTypes?: ReadonlyArray<string>;
  /**
   * The batch transform state machine over the same image and registry; `false` leaves it out.
   * @default {}
   */
  readonly batchTransform?: BatchTransformOptions | false;
  /**
   * Concurrent executions reserved for (and the most allowed to) each Lambda step. A reservation
   * is taken out of the account's unreserved concurrency, which Lambda keeps at or above its
   * minimum (100 in accounts with the default quota): deploying fails in accounts that cannot spare it.
   * @default none: the steps use the account's unreserved concurrency (allowed 1 to 1000)
   */
  readonly reservedConcurrency?: number;
}

/**
 * The cloud training pipeline, one Step Functions state machine:
 *
 *   prepare run -> train (one job, or a tuning job over learning rate and batch size)
 *   -> seal (verify MANIFEST.json, SHA-256 of model.tar.gz, tag the object)
 *   -> evaluate (threshold and production baseline; fails closed)
 *   -> register (model package with digests and metrics)
 *   -> [approved] verify against the registry -> deploy (blue/green) -> wait for InService
 *
 * Every ending is published to the monitoring topic. An execution whose input is
 * `{"modelPackageArn": "..."}` (the approval rule sends that) skips straight to deployment.
 */
export class TrainingPipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** The role training and tuning jobs run as. */
  readonly trainingRole: iam.Role;
  /** The role models deployed by the pipeline run as (the endpoint's execution role). */
  readonly modelRole: iam.IRole;
  readonly modelPackageGroup: sagemaker.CfnModelPackageGroup;
  readonly modelPackageGroupName: string;
  readonly namePrefix: string;
  readonly approval: 'automatic' | 'manual';
  readonly triggers: PipelineTriggers;
  readonly batchTransform: BatchTransform | undefined;
  readonly functions: {
    readonly prepare: PipelineFunction;
    readonly seal: PipelineFunction;
    readonly evaluate: PipelineFunction;
    readonly register: PipelineFunction;
    readonly deploy: PipelineFunction;
    /** Registers autoscaling after each deployment; only when the pipeline creates the endpoint (`endpointSpec.autoScaling` set). */
    readonly configureAutoScaling?: PipelineFunction;
  };

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    const store = props.modelStore;
    this.namePrefix = props.namePrefix ?? 'modelstack';
    this.approval = props.approval ?? 'manual';
    this.modelPackageGroupName = props.modelPackageGroupName ?? this.namePrefix;
    const settings = this.validate(props);
    const prefix = this.namePrefix;
    const spec = props.endpointSpec;
    const endpointName = props.endpoint.endpointName;
    const variantName = spec.variant.variantName;
    const autoScaling = spec.autoScaling;

    // ---- roles and the registry ------------------------------------------------------------
    const network = this.network(props);
    this.trainingRole = new TrainingRole(this, 'TrainingRole', { modelStore: store, image: props.image, vpc: network !== undefined }).role;
    this.modelRole = props.modelRole;
    this.modelPackageGroup = new sagemaker.CfnModelPackageGroup(this, 'ModelPackageGroup', {
      modelPackageGroupName: this.modelPackageGroupName,
      modelPackageGroupDescription: `modelstack: sealed, evaluated models trained by the ${prefix} pipeline`,
    });
    // Registered models are the audit trail of what was trained and deployed: keep them.
    this.modelPackageGroup.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const packagesArn = sageMakerArn(this, 'model-package', `${this.modelPackageGroupName}/*`);
    const groupArn = sageMakerArn(this, 'model-package-group', this.modelPackageGroupName);

    // ---- Lambda steps ----------------------------------------------------------------------
    // One key for every log group of the pipeline: executions log their inputs (bucket names,
    // hyperparameters, package ARNs), the steps their decisions.
    const logsKey = logEncryptionKey(this, 'LogsKey', `modelstack ${prefix} pipeline: CloudWatch Logs of its Lambda steps and state machines`);
    const step: Pick<PipelineFunctionProps, 'logsKey' | 'network' | 'reservedConcurrency'> = {
      logsKey,
      network: network === undefined || props.vpc === undefined ? undefined : { vpc: props.vpc, ...network },
      reservedConcurrency: props.reservedConcurrency,
    };
    this.functions = {
      prepare: new PipelineFunction(this, 'PrepareRun', { ...step, entry: 'prepare-run.ts', description: 'plan a training run: names, data prefix, hyperparameters' }),
      seal: new PipelineFunction(this, 'SealArtifact', {
        ...step,
        entry: 'seal-artifact.ts',
        description: 'verify model.tar.gz against its MANIFEST.json and record its SHA-256',
        // Streams the archive once at roughly 100 MB/s: 15 minutes covers multi-GB models.
        timeout: Duration.minutes(15),
        memorySize: 1024,
      }),
      evaluate: new PipelineFunction(this, 'EvaluateModel', { ...step, entry: 'evaluate-model.ts', description: 'evaluation gate: final metrics vs threshold and production' }),
      register: new PipelineFunction(this, 'RegisterModel', { ...step, entry: 'register-model.ts', description: 'register a sealed model package with digests and metrics' }),
      deploy: new PipelineFunction(this, 'DeployModel', { ...step, entry: 'deploy-model.ts', description: 'create model and endpoint configuration, create or update the endpoint' }),
      // CloudFormation scales an endpoint it owns (EndpointAutoScaling); the pipeline scales only
      // the endpoint it creates, or each would overwrite the other's settings.
      ...(autoScaling === undefined
        ? {}
        : { configureAutoScaling: autoScalingFunction(this, 'ConfigureAutoScaling', { endpointName, variantName, settings: autoScaling, step }) }),
    };
    this.grantFunctionPermissions(props, packagesArn, groupArn);

    // ---- the state machine -----------------------------------------------------------------
    const topic = props.notificationTopic;
    const onFailure = failurePath(this, topic, prefix);
    const catchAll = <T extends { addCatch(handler: sfn.IChainable, props?: sfn.CatchProps): unknown }>(state: T): T => {
      state.addCatch(onFailure, { resultPath: '$.error' });
      return state;
    };
    const lambdaStep = (name: string, fn: PipelineFunction, payload: Record<string, unknown>, resultPath: string): tasks.LambdaInvoke => {
      const step = new tasks.LambdaInvoke(this, name, {
        lambdaFunction: fn.function,
        payload: sfn.TaskInput.fromObject(payload),
        payloadResponseOnly: true,
        resultPath,
      });
      step.addRetry(THROTTLING_RETRY);
      return catchAll(step);
    };

    const prepare = lambdaStep(
      'Prepare run',
      this.functions.prepare,
      {
        input: sfn.JsonPath.objectAt('$'),
        executionId: sfn.JsonPath.executionId,
        startTime: sfn.JsonPath.executionStartTime,
        config: {
          namePrefix: prefix,
          bucketName: store.bucket.bucketName,
          dataPrefix: store.dataPrefix,
          modelsPrefix: store.modelsPrefix,
          checkpointsPrefix: store.checkpointsPrefix,
          hyperparameters: { ...(props.hyperparameters ?? {}) },
          tunedHyperparameters: props.tuning ? [...TUNED_HYPERPARAMETERS] : [],
        },
      },
      '$.run',
    );
    const jobSettings = { ...settings.job, role: this.trainingRole, imageUri: props.image.imageUri, modelStore: store, namePrefix: prefix, vpc: network };
    const train = catchAll(trainingJobState(this, jobSettings));
    const seal = lambdaStep('Seal artifact', this.functions.seal, { trainingJobName: sfn.JsonPath.stringAt('$.training.trainingJobName') }, '$.seal');
    const evaluate = lambdaStep(
      'Evaluate model',
      this.functions.evaluate,
      { trainingJobName: sfn.JsonPath.stringAt('$.training.trainingJobName'), endpointName, objective: settings.objective },
      '$.evaluation',
    );
    // A model package names the instance types it suits; a serverless endpoint's has none, so the default stands in.
    const packageInstanceType = spec.variant.kind === 'instances' ? spec.variant.instanceType : ENDPOINT_DEFAULTS.instanceType;
    const register = lambdaStep(
      'Register model',
      this.functions.register,
      {
        trainingJobName: sfn.JsonPath.stringAt('$.training.trainingJobName'),
        modelPackageGroupName: this.modelPackageGroupName,
        imageUri: (props.servingImage ?? props.image).imageUri,
        approval: this.approval === 'automatic' ? 'Approved' : 'PendingManualApproval',
        seal: sfn.JsonPath.objectAt('$.seal'),
        evaluation: sfn.JsonPath.objectAt('$.evaluation'),
        inference: {
          contentTypes: [...(props.contentTypes ?? ['text/csv', 'application/json'])],
          responseTypes: ['application/json', 'text/csv'],
          realtimeInstanceTypes: [packageInstanceType],
          transformInstanceTypes: [packageInstanceType],
        },
      },
      '$.registration',
    );

    const verify = lambdaStep('Verify package', this.functions.seal, { modelPackageArn: sfn.JsonPath.stringAt('$.target.modelPackageArn') }, '$.verification');
    const deploy = lambdaStep('Deploy model', this.functions.deploy, this.deployPayload(props, network), '$.deployment');
    deploy.addRetry(ENDPOINT_BUSY_RETRY);
    const configureAutoScaling =
      this.functions.configureAutoScaling &&
      lambdaStep(
        'Configure autoscaling',
        this.functions.configureAutoScaling,
        { endpointName, variantName, autoScaling },
        '$.autoScaling',
      );
    const deployed = notifyState(this, 'Notify deployed', topic, prefix, 'DEPLOYED', {
      modelPackageArn: sfn.JsonPath.stringAt('$.target.modelPackageArn'),
      endpointName: sfn.JsonPath.stringAt('$.deployment.endpointName'),
      endpointConfigName: sfn.JsonPath.stringAt('$.deployment.endpointConfigName'),
      previousEndpointConfigName: sfn.JsonPath.stringAt('$.deployment.previousEndpointConfigName'),
      archiveSha256: sfn.JsonPath.stringAt('$.verification.archiveSha256'),
      ...(configureAutoScaling ? { autoScaling: sfn.JsonPath.objectAt('$.autoScaling') } : {}),
    }).next(new sfn.Succeed(this, 'Deployed'));
    // On every settled deployment (first creation and updates), so the endpoint converges on the stack's settings.
    const onDeployed = configureAutoScaling ? configureAutoScaling.next(deployed) : deployed;
    const deployStage = deploymentStates(this, { endpointName, pollInterval: settings.pollInterval, verify, deploy, onDeployed, onFailure });

    const rejected = new sfn.Pass(this, 'Model rejected', {
      parameters: { Error: 'ModelRejected', 'Cause.$': 'States.JsonToString($.evaluation.reasons)' },
      resultPath: '$.error',
    }).next(onFailure);
    const awaitingApproval = notifyState(this, 'Notify awaiting approval', topic, prefix, 'AWAITING_APPROVAL', {
      modelPackageArn: sfn.JsonPath.stringAt('$.registration.modelPackageArn'),
      trainingJobName: sfn.JsonPath.stringAt('$.training.trainingJobName'),
      evaluation: sfn.JsonPath.objectAt('$.evaluation.reasons'),
    }).next(new sfn.Succeed(this, 'Awaiting approval'));
    const deployRegistered = new sfn.Pass(this, 'Deploy registered package', {
      parameters: { 'modelPackageArn.$': '$.registration.modelPackageArn' },
      resultPath: '$.target',
    }).next(deployStage);
    const deployApproved = new sfn.Pass(this, 'Deploy approved package', {
      parameters: { 'modelPackageArn.$': '$.modelPackageArn' },
      resultPath: '$.target',
    }).next(deployStage);

    const trained = seal
      .next(evaluate)
      .next(
        new sfn.Choice(this, 'Good enough?')
          .when(sfn.Condition.booleanEquals('$.evaluation.passed', true), register.next(
            new sfn.Choice(this, 'Approved?')
              .when(sfn.Condition.stringEquals('$.registration.approvalStatus', 'Approved'), deployRegistered)
              .otherwise(awaitingApproval),
          ))
          .otherwise(rejected),
      );
    let training: sfn.IChainable = train.next(trained);
    if (props.tuning && settings.tuning) {
      const tune = catchAll(tuningJobState(this, jobSettings, settings.tuning));
      tune.next(trained);
      training = new sfn.Choice(this, 'Tune or train?').when(sfn.Condition.stringEquals('$.run.mode', 'tune'), tune).otherwise(train);
    }

    const definition = new sfn.Choice(this, 'Deploy an approved package?')
      .when(sfn.Condition.isPresent('$.modelPackageArn'), deployApproved)
      .otherwise(prepare.next(training));

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      role: new ManagedPolicyRole(this, 'StateMachineRole', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com'), description: `modelstack ${prefix}: the training pipeline state machine` }),
      timeout: settings.timeout,
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'ExecutionLogs', { retention: logs.RetentionDays.ONE_YEAR, encryptionKey: logsKey, removalPolicy: RemovalPolicy.DESTROY }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
      comment: `modelstack ${prefix}: train or tune, seal, evaluate, register, deploy`,
    });
    // Registration needs the group: no execution may start before it exists.
    this.stateMachine.node.addDependency(this.modelPackageGroup);
    this.grantStateMachinePermissions(props);

    this.triggers = new PipelineTriggers(this, 'Triggers', {
      stateMachine: this.stateMachine,
      bucket: store.bucket,
      dataPrefix: store.dataPrefix,
      dataTrigger: props.dataTrigger ?? {},
      schedule: props.schedule,
      approvalGroupName: this.approval === 'manual' ? this.modelPackageGroupName : undefined,
      topic,
    });

    this.batchTransform =
      props.batchTransform === false
        ? undefined
        : new BatchTransform(this, 'BatchTransform', {
            ...props.batchTransform,
            modelStore: store,
            image: props.servingImage ?? props.image,
            notificationTopic: topic,
            namePrefix: prefix,
            modelPackageGroupName: this.modelPackageGroupName,
            logsKey,
          });
  }

  /** Allows `grantee` to start runs (e.g. a CI role): `aws stepfunctions start-execution`. */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** Executions that ended in failure (rejected models and rolled-back deployments included). */
  metricFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricFailed(props);
  }

  /** Executions that deployed a model or registered one for approval. */
  metricSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricSucceeded(props);
  }

  private validate(props: TrainingPipelineProps) {
    requireMatch('TrainingPipeline.namePrefix', this.namePrefix, /^[a-z0-9](-?[a-z0-9]){0,13}$/, 'lowercase letters, digits and single hyphens, 1 to 14 characters (e.g. "churn")');
    requireMatch('TrainingPipeline.modelPackageGroupName', this.modelPackageGroupName, /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, 'letters, digits and hyphens, 1 to 63 characters');
    if (!['automatic', 'manual'].includes(this.approval)) {
      throw new PropValidationError('TrainingPipeline.approval', `must be "automatic" or "manual", got ${JSON.stringify(this.approval)}`);
    }
    const instance = describeInstanceType('TrainingPipeline.instanceType', props.instanceType ?? 'ml.g5.2xlarge');
    if (instance.burstable) {
      throw new PropValidationError('TrainingPipeline.instanceType', `burstable types cannot train on SageMaker, got ${instance.name}`);
    }
    const instanceCount = props.instanceCount ?? 1;
    if (!Token.isUnresolved(instanceCount) && !isTrainingInstanceCount(instanceCount)) {
      throw new PropValidationError('TrainingPipeline.instanceCount', `must be ${TRAINING_INSTANCE_COUNT_EXPECTED}, got ${instanceCount}`);
    }
    const volumeSizeGb = props.volumeSizeGb ?? 50;
    requireIntegerInRange('TrainingPipeline.volumeSizeGb', volumeSizeGb, 1, 16384);
    const maxRuntime = props.maxRuntime ?? Duration.hours(24);
    requireIntegerInRange('TrainingPipeline.maxRuntime (seconds)', maxRuntime.toSeconds(), 60, 28 * 24 * 3600);
    const spot = props.spot ?? true;
    const timeout = props.timeout ?? Duration.days(7);
    requireIntegerInRange('TrainingPipeline.timeout (seconds)', timeout.toSeconds(), 3600, 365 * 24 * 3600);
    // Twice the runtime for spot capacity, but ending an hour before the execution's timeout
    // (sealing, evaluation and deployment still have to run), and never below the runtime.
    const defaultWait = Math.max(maxRuntime.toSeconds(), Math.min(2 * maxRuntime.toSeconds(), 28 * 24 * 3600, timeout.toSeconds() - 3600));
    const maxWait = props.maxWait ?? Duration.seconds(defaultWait);
    if (spot && maxWait.toSeconds() < maxRuntime.toSeconds()) {
      throw new PropValidationError('TrainingPipeline.maxWait', `must be at least maxRuntime (${maxRuntime.toSeconds()} s) for spot training, got ${maxWait.toSeconds()} s`);
    }
    // A job that outlives the execution is stopped with it: the run would fail however well it trained.
    const longestJob = spot ? maxWait.toSeconds() : maxRuntime.toSeconds();
    if (longestJob >= timeout.toSeconds()) {
      throw new PropValidationError(
        spot ? 'TrainingPipeline.maxWait' : 'TrainingPipeline.maxRuntime',
        `a training job may take up to ${longestJob} s, but TrainingPipeline.timeout stops the execution after ${timeout.toSeconds()} s; raise timeout or shorten the job`,
      );
    }
    requireIntegerInRange('TrainingPipeline.reservedConcurrency', props.reservedConcurrency, 1, 1000);
    const pollInterval = props.pollInterval ?? Duration.minutes(1);
    requireIntegerInRange('TrainingPipeline.pollInterval (seconds)', pollInterval.toSeconds(), 10, 3600);
    const endpointName = props.endpoint.endpointName;
    if (!Token.isUnresolved(endpointName) && endpointName !== props.endpointSpec.endpointName) {
      throw new PropValidationError(
        'TrainingPipeline.endpointSpec',
        `describes endpoint ${JSON.stringify(props.endpointSpec.endpointName)}, but TrainingPipeline.endpoint is ${JSON.stringify(endpointName)}; pass the spec of the same endpoint`,
      );
    }
    for (const name of Object.keys(props.hyperparameters ?? {})) {
      requireMatch('TrainingPipeline.hyperparameters', name, /^[a-z][a-z0-9_]*$/, 'snake_case names such as learning_rate');
    }
    checkHyperparameters(props.hyperparameters ?? {});

    const metric = props.objective?.metric ?? 'validation_loss';
    if (!(METRIC_NAMES as readonly string[]).includes(metric)) {
      throw new PropValidationError('TrainingPipeline.objective.metric', `must be a metric the runtime prints (${METRIC_NAMES.join(', ')}), got ${JSON.stringify(metric)}`);
    }
    const goal = props.objective?.goal ?? (metric.endsWith('accuracy') || metric.endsWith('accuracy_mean') ? 'maximize' : 'minimize');
    const threshold = props.objective?.threshold ?? 1;
    requireNumberInRange('TrainingPipeline.objective.threshold', threshold, -1e12, 1e12);

    let tuning;
    if (props.tuning) {
      const maxJobs = props.tuning.maxJobs ?? 12;
      const maxParallelJobs = props.tuning.maxParallelJobs ?? Math.min(3, maxJobs);
      requireIntegerInRange('TrainingPipeline.tuning.maxJobs', maxJobs, 1, 500);
      requireIntegerInRange('TrainingPipeline.tuning.maxParallelJobs', maxParallelJobs, 1, Math.min(100, maxJobs));
      const learningRate = props.tuning.learningRate ?? { min: 0.0001, max: 0.1 };
      const batchSize = props.tuning.batchSize ?? { min: 16, max: 512 };
      requireNumberInRange('TrainingPipeline.tuning.learningRate.min', learningRate.min, 1e-10, learningRate.max);
      requireNumberInRange('TrainingPipeline.tuning.learningRate.max', learningRate.max, learningRate.min, 10);
      requireIntegerInRange('TrainingPipeline.tuning.batchSize.min', batchSize.min, 1, batchSize.max);
      requireIntegerInRange('TrainingPipeline.tuning.batchSize.max', batchSize.max, batchSize.min, 1_000_000);
      tuning = { objective: { metric, goal }, maxJobs, maxParallelJobs, learningRate, batchSize };
    }
    return {
      job: {
        instanceType: instance.name,
        instanceCount,
        volumeSizeGb,
        encryptVolume: !instance.nvmeInstanceStorage,
        maxRuntime,
        spot,
        maxWait,
        networkIsolation: props.networkIsolation ?? true,
        interContainerEncryption: props.interContainerEncryption ?? true,
      },
      objective: { metric, goal, threshold },
      tuning,
      pollInterval,
      timeout,
    };
  }

  private network(props: TrainingPipelineProps): { subnets: ec2.ISubnet[]; securityGroups: ec2.ISecurityGroup[] } | undefined {
    if (!props.vpc) return undefined;
    const securityGroups = props.securityGroups
      ? [...props.securityGroups]
      : [new ec2.SecurityGroup(this, 'SecurityGroup', { vpc: props.vpc, description: 'modelstack training jobs and models', allowAllOutbound: true })];
    return { subnets: props.vpc.selectSubnets(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnets, securityGroups };
  }

  /** The deploy step's input (lambda/deploy-model.ts DeployEvent): the run's package, and the endpoint's spec as resolved at synth. */
  private deployPayload(props: TrainingPipelineProps, network: ReturnType<TrainingPipeline['network']>): Record<string, unknown> {
    return {
      modelPackageArn: sfn.JsonPath.stringAt('$.target.modelPackageArn'),
      namePrefix: this.namePrefix,
      modelExecutionRoleArn: this.modelRole.roleArn,
      networkIsolation: props.networkIsolation ?? true,
      ...(network
        ? { vpcConfig: { Subnets: network.subnets.map((subnet) => subnet.subnetId), SecurityGroupIds: network.securityGroups.map((group) => group.securityGroupId) } }
        : {}),
      // Serialised at synth, so rollback alarms added to the endpoint after the pipeline are included.
      endpoint: Lazy.any({ produce: () => deploymentSpecOf(props.endpointSpec) }),
    };
  }

  /** Each step may touch only this pipeline's resources: its jobs, models, configurations, registry and endpoint. */
  private grantFunctionPermissions(props: TrainingPipelineProps, packagesArn: string, groupArn: string): void {
    const store = props.modelStore;
    const prefix = this.namePrefix;
    const trainingJobs = sageMakerArn(this, 'training-job', `${prefix}-*`);
    const endpointArn = sageMakerArn(this, 'endpoint', props.endpoint.endpointName);
    const ownConfigs = sageMakerArn(this, 'endpoint-config', `${prefix}-*`);
    // The endpoint's live configuration may have been named by CloudFormation: read any, write only ours.
    const anyConfig = sageMakerArn(this, 'endpoint-config', '*');
    const { seal, evaluate, register, deploy } = this.functions;

    seal.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeTrainingJob'], resources: [trainingJobs] }));
    seal.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeModelPackage'], resources: [packagesArn] }));
    store.grantRead(seal.role, store.modelsPrefix);
    seal.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObjectTagging', 's3:GetObjectVersionTagging', 's3:PutObjectTagging', 's3:PutObjectVersionTagging'],
        resources: [store.bucket.arnForObjects(`${store.modelsPrefix}*`)],
      }),
    );

    evaluate.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeTrainingJob'], resources: [trainingJobs] }));
    evaluate.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpoint'], resources: [endpointArn] }));
    evaluate.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpointConfig', 'sagemaker:ListTags'], resources: [anyConfig] }));

    register.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackage'], resources: [packagesArn, groupArn] }),
    );

    deploy.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeModelPackage'], resources: [packagesArn] }));
    deploy.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sagemaker:CreateModel', 'sagemaker:AddTags'], resources: [sageMakerArn(this, 'model', `${prefix}-*`)] }),
    );
    deploy.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:CreateEndpointConfig', 'sagemaker:AddTags'], resources: [ownConfigs] }));
    deploy.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpointConfig'], resources: [anyConfig] }));
    deploy.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpoint', 'sagemaker:CreateEndpoint', 'sagemaker:UpdateEndpoint', 'sagemaker:AddTags'], resources: [endpointArn] }),
    );
    // Create/UpdateEndpoint are also authorised against the configuration they name.
    deploy.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:CreateEndpoint', 'sagemaker:UpdateEndpoint'], resources: [ownConfigs] }));
    deploy.role.addToPrincipalPolicy(passRoleStatement(this.modelRole));
    // An endpoint configuration with KmsKeyId makes SageMaker create grants on the store key.
    deploy.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [store.key.keyArn],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
    );

    const jobsReason = `Training and tuning jobs are named <${prefix}>-<run id> at run time; the pattern admits only this pipeline's jobs.`;
    const packagesReason = `Model package versions are numbered by SageMaker at registration (${this.modelPackageGroupName}/<version>); the pattern admits only this pipeline's group.`;
    const anyConfigReason = 'Read-only (DescribeEndpointConfig, ListTags): the endpoint\'s live configuration may have been created by CloudFormation under a generated name.';
    acknowledge(seal.role, [
      { finding: resourceFinding(this, trainingJobs), reason: jobsReason },
      { finding: resourceFinding(this, packagesArn), reason: packagesReason },
      { finding: resourceFinding(this, store.bucket.arnForObjects(`${store.modelsPrefix}*`)), reason: 'Model artifacts are written by SageMaker to models/<job>/output/model.tar.gz; the seal step reads and tags them there only.' },
      ...['s3:GetObject*', 's3:GetBucket*', 's3:List*'].map((action) => ({ finding: actionFinding(action), reason: COMMON_REASONS.bucketRead })),
    ]);
    acknowledge(evaluate.role, [
      { finding: resourceFinding(this, trainingJobs), reason: jobsReason },
      { finding: resourceFinding(this, anyConfig), reason: anyConfigReason },
    ]);
    acknowledge(register.role, [{ finding: resourceFinding(this, packagesArn), reason: packagesReason }]);
    acknowledge(deploy.role, [
      { finding: resourceFinding(this, packagesArn), reason: packagesReason },
      { finding: resourceFinding(this, sageMakerArn(this, 'model', `${prefix}-*`)), reason: `Models are named <${prefix}>-v<package version>-<hash> per deployment; the pattern admits only this pipeline's models.` },
      { finding: resourceFinding(this, ownConfigs), reason: `Endpoint configurations are named <${prefix}>-v<package version>-<hash>-config per deployment; only these may be created.` },
      { finding: resourceFinding(this, anyConfig), reason: anyConfigReason },
    ]);
  }

  private grantStateMachinePermissions(props: TrainingPipelineProps): void {
    const prefix = this.namePrefix;
    for (const statement of syncJobStatements(this, TRAINING_JOB, `${prefix}-*`)) this.stateMachine.addToRolePolicy(statement);
    if (props.tuning) {
      for (const statement of syncJobStatements(this, TUNING_JOB, `${prefix}-*`)) this.stateMachine.addToRolePolicy(statement);
    }
    this.stateMachine.addToRolePolicy(passRoleStatement(this.trainingRole));
    // CreateTrainingJob with KMS keys for output and volume: SageMaker uses grants on the store key.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [props.modelStore.key.keyArn],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
    );
    // The monitoring topic is KMS-encrypted: publishing needs its key.
    props.notificationTopic.masterKey?.grant(this.stateMachine, 'kms:Decrypt', 'kms:GenerateDataKey*');

    const role = this.stateMachine.role;
    acknowledge(role, [
      { finding: 'IAM5[Resource::*]', reason: `${COMMON_REASONS.xray} CloudWatch Logs delivery for Step Functions (CreateLogDelivery, ...) has none either.` },
      { finding: actionFinding('kms:GenerateDataKey*'), reason: 'Publishing to the KMS-encrypted monitoring topic: GenerateDataKey* on the topic key only.' },
      { finding: resourceFinding(this, sageMakerArn(this, 'training-job', `${prefix}-*`)), reason: `Training jobs are named <${prefix}>-<run id> at run time; the pattern admits only this pipeline's jobs.` },
      { finding: resourceFinding(this, sageMakerArn(this, 'hyper-parameter-tuning-job', `${prefix}-*`)), reason: `Tuning jobs are named <${prefix}>-<run id> at run time; the pattern admits only this pipeline's jobs.` },
      ...Object.values(this.functions).filter((step) => step !== undefined).map((step) => ({
        finding: resourceFinding(this, `${step.function.functionArn}:*`),
        reason: 'LambdaInvoke grants invoking any version or alias of this one pipeline function.',
      })),
    ]);
  }
}

/** The spec without its autoscaling, which the autoscaling step registers on its own. */
function deploymentSpecOf(spec: EndpointSpec): EndpointDeploymentSpec {
  const { autoScaling: _registeredByItsOwnStep, ...deployment } = spec;
  return deployment;
}

/**
 * The runtime's own parser over the hyperparameters every run gets: an unknown key, a value out
 * of range or a key of another algorithm fails `cdk synth` instead of a training job an hour and
 * an instance later. Values that are tokens resolve at deploy time and are left to the job.
 */
function checkHyperparameters(hyperparameters: Readonly<Record<string, string>>): void {
  if (Object.values(hyperparameters).some((v) => Token.isUnresolved(v))) return;
  try {
    parseHyperparameters(hyperparameters);
  } catch (error) {
    if (error instanceof HyperparameterError) throw new PropValidationError('TrainingPipeline.hyperparameters', error.message);
    throw error;
  }
}
