import type { Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { METRIC_DEFINITIONS, type MetricName } from '../../model-runtime/src/contract/metrics.ts';
import { logRange, sagemakerParameterRanges } from '../../model-runtime/src/contract/search-space.ts';
import type { ModelStore } from '../model-store.ts';
import { integrationArn } from './sagemaker-arns.ts';
import { SAGEMAKER_INTEGRATION_RETRY } from './step-retries.ts';

/** Where training writes checkpoints inside the container (synced to S3 by SageMaker). */
export const CHECKPOINT_LOCAL_PATH = '/opt/ml/checkpoints';

/** A range searched by the tuning job. */
export interface HyperparameterRange {
  readonly min: number;
  readonly max: number;
}

/** How the training jobs of one run are configured (shared by single training and tuning). */
export interface TrainingJobSettings {
  readonly role: iam.IRole;
  readonly imageUri: string;
  readonly modelStore: ModelStore;
  readonly instanceType: string;
  readonly instanceCount: number;
  readonly volumeSizeGb: number;
  /** Whether the ML volume takes the store key (not for instance types with local NVMe storage). */
  readonly encryptVolume: boolean;
  readonly maxRuntime: Duration;
  readonly spot: boolean;
  readonly maxWait: Duration;
  readonly networkIsolation: boolean;
  readonly interContainerEncryption: boolean;
  readonly vpc?: { readonly subnets: ec2.ISubnet[]; readonly securityGroups: ec2.ISecurityGroup[] };
  readonly namePrefix: string;
}

export interface TuningSettings {
  readonly objective: { readonly metric: MetricName; readonly goal: 'minimize' | 'maximize' };
  readonly maxJobs: number;
  readonly maxParallelJobs: number;
  readonly learningRate: HyperparameterRange;
  readonly batchSize: HyperparameterRange;
}

/** The hyperparameters the tuning job searches (the seed's learning rate and batch size). */
export const TUNED_HYPERPARAMETERS = ['learning_rate', 'batch_size'] as const;

/**
 * The training job definition SageMaker's CreateTrainingJob and the tuning job's
 * TrainingJobDefinition share. Names and S3 locations come from the run plan (`$.run`).
 */
function jobDefinition(settings: TrainingJobSettings): Record<string, unknown> {
  const key = settings.modelStore.key.keyArn;
  return {
    AlgorithmSpecification: {
      TrainingImage: settings.imageUri,
      TrainingInputMode: 'File',
      // The runtime's single source of metric names and regexes (CloudWatch + tuning objective).
      MetricDefinitions: METRIC_DEFINITIONS.map(({ Name, Regex }) => ({ Name, Regex })),
    },
    RoleArn: settings.role.roleArn,
    InputDataConfig: [
      {
        ChannelName: 'train',
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', 'S3Uri.$': '$.run.trainingDataUri', S3DataDistributionType: 'FullyReplicated' } },
      },
    ],
    OutputDataConfig: { 'S3OutputPath.$': '$.run.outputUri', KmsKeyId: key },
    ResourceConfig: {
      InstanceType: settings.instanceType,
      InstanceCount: settings.instanceCount,
      VolumeSizeInGB: settings.volumeSizeGb,
      ...(settings.encryptVolume ? { VolumeKmsKeyId: key } : {}),
    },
    StoppingCondition: {
      MaxRuntimeInSeconds: settings.maxRuntime.toSeconds(),
      ...(settings.spot ? { MaxWaitTimeInSeconds: settings.maxWait.toSeconds() } : {}),
    },
    EnableManagedSpotTraining: settings.spot,
    CheckpointConfig: { 'S3Uri.$': '$.run.checkpointUri', LocalPath: CHECKPOINT_LOCAL_PATH },
    EnableNetworkIsolation: settings.networkIsolation,
    EnableInterContainerTrafficEncryption: settings.interContainerEncryption,
    ...(settings.vpc
      ? { VpcConfig: { Subnets: settings.vpc.subnets.map((subnet) => subnet.subnetId), SecurityGroupIds: settings.vpc.securityGroups.map((group) => group.securityGroupId) } }
      : {}),
  };
}

/** One training job, waited for by Step Functions (`.sync`); its name goes to `$.training`. */
export function trainingJobState(scope: Construct, settings: TrainingJobSettings): sfn.CustomState {
  const { RoleArn, ...definition } = jobDefinition(settings);
  const state = new sfn.CustomState(scope, 'Train model', {
    stateJson: {
      Type: 'Task',
      Resource: integrationArn('sagemaker:createTrainingJob.sync'),
      Parameters: {
        'TrainingJobName.$': '$.run.trainingJobName',
        RoleArn,
        'HyperParameters.$': '$.run.hyperparameters',
        ...definition,
        Tags: [{ Key: 'modelstack:pipeline', Value: settings.namePrefix }],
      },
      ResultSelector: { 'trainingJobName.$': '$.TrainingJobName' },
      ResultPath: '$.training',
    },
  });
  state.addRetry(SAGEMAKER_INTEGRATION_RETRY);
  return state;
}

/**
 * A hyperparameter tuning job over learning_rate (log scale) and batch_size, waited for by Step
 * Functions (`.sync`); the best job's name goes to `$.training`. A tuning job whose every
 * training job failed has no best job: the ResultSelector then fails the state (closed).
 */
export function tuningJobState(scope: Construct, settings: TrainingJobSettings, tuning: TuningSettings): sfn.CustomState {
  const state = new sfn.CustomState(scope, 'Tune hyperparameters', {
    stateJson: {
      Type: 'Task',
      Resource: integrationArn('sagemaker:createHyperParameterTuningJob.sync'),
      Parameters: {
        'HyperParameterTuningJobName.$': '$.run.tuningJobName',
        HyperParameterTuningJobConfig: {
          Strategy: 'Bayesian',
          HyperParameterTuningJobObjective: { Type: tuning.objective.goal === 'minimize' ? 'Minimize' : 'Maximize', MetricName: tuning.objective.metric },
          ResourceLimits: { MaxNumberOfTrainingJobs: tuning.maxJobs, MaxParallelTrainingJobs: tuning.maxParallelJobs },
          // The same search-space module `modelstack tune` samples locally.
          ParameterRanges: sagemakerParameterRanges([
            logRange('learning_rate', tuning.learningRate.min, tuning.learningRate.max),
            logRange('batch_size', tuning.batchSize.min, tuning.batchSize.max, 'integer'),
          ]),
          TrainingJobEarlyStoppingType: 'Auto',
        },
        TrainingJobDefinition: { ...jobDefinition(settings), 'StaticHyperParameters.$': '$.run.staticHyperparameters' },
        Tags: [{ Key: 'modelstack:pipeline', Value: settings.namePrefix }],
      },
      ResultSelector: { 'trainingJobName.$': '$.BestTrainingJob.TrainingJobName' },
      ResultPath: '$.training',
    },
  });
  state.addRetry(SAGEMAKER_INTEGRATION_RETRY);
  return state;
}

