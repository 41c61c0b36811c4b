import { Duration, Lazy, Names, Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { EncryptedTopic } from '../encrypted-topic.ts';
import { endpointBlueprint, type IEndpointBlueprint } from './endpoint-blueprint.ts';
import { EndpointAutoScaling, type EndpointAutoScalingOptions } from './endpoint-autoscaling.ts';
import { EndpointMetrics } from './endpoint-metrics.ts';
import { describeInstanceType, type InstanceTypeInfo } from '../instance-type.ts';
import { ModelExecutionRole } from '../model-execution-role.ts';
import type { ModelStore } from '../model-store.ts';
import type { RuntimeImage } from '../runtime-image.ts';
import { PropValidationError, requireIntegerInRange, requireMatch } from '../validation.ts';
import { CAPTURE_CSV_CONTENT_TYPES, CAPTURE_JSON_CONTENT_TYPES } from '../../model-runtime/src/contract/capture-content-types.ts';

/** A serverless variant: SageMaker runs the container on demand, CPU only, billed per request. */
export interface ServerlessVariantOptions {
  /**
   * Memory per concurrent invocation, in MB: 1024, 2048, 3072, 4096, 5120 or 6144.
   * @default 2048
   */
  readonly memorySizeInMb?: number;
  /**
   * Concurrent invocations before throttling.
   * @default 5 (allowed 1 to 200)
   */
  readonly maxConcurrency?: number;
  /**
   * Invocations kept warm (billed while idle), up to maxConcurrency.
   * @default none: every instance starts cold
   */
  readonly provisionedConcurrency?: number;
}

/** Asynchronous inference: requests are queued, inputs and results live in the model store. */
export interface AsyncInferenceOptions {
  /**
   * Topic notified when a result is written.
   * @default a new encrypted topic
   */
  readonly successTopic?: sns.ITopic;
  /**
   * Topic notified when a request fails.
   * @default a new encrypted topic
   */
  readonly errorTopic?: sns.ITopic;
  /**
   * Requests one instance works on at once.
   * @default chosen by SageMaker (allowed 1 to 1000)
   */
  readonly maxConcurrentInvocationsPerInstance?: number;
}

/** Data capture: SageMaker records requests and responses to the store's capture/ prefix. */
export interface DataCaptureOptions {
  /**
   * Whether to capture at all.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Percentage of requests captured.
   * @default 100 (allowed 0 to 100)
   */
  readonly samplingPercentage?: number;
}

/** Blue/green updates that shift a canary share of capacity first, and roll back on alarms. */
export interface CanaryDeploymentOptions {
  /**
   * Share of the new fleet's capacity that takes traffic first, in percent.
   * @default 10 (allowed 1 to 99)
   */
  readonly canaryPercent?: number;
  /**
   * How long the canary is watched (alarms evaluated) before all traffic moves.
   * @default Duration.minutes(5) (allowed 0 to 60 minutes)
   */
  readonly canaryWait?: Duration;
  /**
   * How long the old (blue) fleet is kept after the shift, ready for a rollback.
   * @default Duration.minutes(5) (allowed 0 to 60 minutes)
   */
  readonly terminationWait?: Duration;
}

export interface InferenceEndpointProps {
  /** The store holding the model artifact; captured data and async results go there too. */
  readonly modelStore: ModelStore;

  /** The runtime image the endpoint runs (`model-runtime serve`). */
  readonly image: RuntimeImage;

  /**
   * The trained model, `s3://<bucket>/<key>.tar.gz`, as SageMaker training writes it. It is
   * extracted to /opt/ml/model before the container starts.
   */
  readonly modelDataUrl: string;

  /**
   * The endpoint's name. It is fixed at synth so alarms can name the endpoint without a
   * reference cycle (the endpoint's rollback configuration names the alarms).
   * @default a unique name derived from the construct path
   */
  readonly endpointName?: string;

  /**
   * The production variant's name; blue/green updates must keep it.
   * @default 'AllTraffic'
   */
  readonly variantName?: string;

  /**
   * The instance type of the (non-serverless) variant. GPU families use the CUDA
   * execution provider; CPU families are allowed. Types with local NVMe storage
   * (g4dn, g5, g6, g6e, p3dn, p4d, p5, m5d, c5d, r5d, ...) get no KMS key on the endpoint
   * configuration: SageMaker rejects one there and encrypts those volumes in hardware.
   * @default 'ml.g5.xlarge'
   */
  readonly instanceType?: string;

  /**
   * Instances at creation (autoscaling adjusts it later).
   * @default 1 (allowed 1 to 100)
   */
  readonly initialInstanceCount?: number;

  /**
   * Use a serverless variant instead of instances. Serverless endpoints have no GPU, VPC,
   * network isolation, data capture, async inference or instance autoscaling.
   * @default instances
   */
  readonly serverless?: ServerlessVariantOptions;

  /**
   * Serve asynchronously (queued requests, results in the store, SNS notifications).
   * @default real-time
   */
  readonly asyncInference?: AsyncInferenceOptions;

  /**
   * Data capture of requests and responses.
   * @default enabled, 100 percent
   */
  readonly dataCapture?: DataCaptureOptions;

  /**
   * A VPC to attach the model's containers to.
   * @default no VPC (SageMaker's managed network)
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Subnets of `vpc` to use.
   * @default the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Security groups for the containers in `vpc`.
   * @default a new group that allows no inbound traffic
   */
  readonly securityGroups?: ReadonlyArray<ec2.ISecurityGroup>;

  /**
   * Whether containers may make no network calls at all. The runtime needs none to serve;
   * SageMaker still downloads the model and records captured data.
   * @default true
   */
  readonly networkIsolation?: boolean;

  /**
   * Blue/green canary settings used when the endpoint is updated.
   * @default 10 percent canary, 5 minutes watched, old fleet kept 5 minutes
   */
  readonly deployment?: CanaryDeploymentOptions;

  /**
   * Alarms that roll an update back while they fire (at most 10). More can be added with
   * `addRollbackAlarm`.
   * @default none
   */
  readonly rollbackAlarms?: ReadonlyArray<cloudwatch.IAlarm>;

  /**
   * Extra environment for the serving container, e.g. SAGEMAKER_MODEL_SERVER_WORKERS.
   * @default none
   */
  readonly environment?: Readonly<Record<string, string>>;

  /**
   * The execution role.
   * @default a new least-privilege ModelExecutionRole
   */
  readonly role?: ModelExecutionRole;
}

const SERVERLESS_MEMORY_SIZES = [1024, 2048, 3072, 4096, 5120, 6144];
const ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const VARIANT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const MODEL_DATA_URL = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+\.tar\.gz$/;
/** SageMaker accepts at most 10 alarms in AutoRollbackConfiguration. */
const MAX_ROLLBACK_ALARMS = 10;

/**
 * A SageMaker real-time (or serverless, or asynchronous) inference endpoint serving the
 * runtime image: CfnModel + CfnEndpointConfig + CfnEndpoint, with a least-privilege role,
 * data capture into the model store, KMS where SageMaker allows it, and blue/green canary
 * updates that roll back on the endpoint's alarms.
 */
export class InferenceEndpoint extends Construct implements IEndpointBlueprint {
  readonly endpointName: string;
  readonly variantName: string;
  /** The instance type, or undefined for a serverless variant. */
  readonly instanceType: InstanceTypeInfo | undefined;
  readonly initialInstanceCount: number;
  readonly role: ModelExecutionRole;
  readonly model: sagemaker.CfnModel;
  readonly endpointConfig: sagemaker.CfnEndpointConfig;
  readonly endpoint: sagemaker.CfnEndpoint;
  /** The endpoint's metrics, also usable before the endpoint exists. */
  readonly metrics: EndpointMetrics;
  /** Topic for async successes, when async inference is on. */
  readonly asyncSuccessTopic: sns.ITopic | undefined;
  /** Topic for async failures, when async inference is on. */
  readonly asyncErrorTopic: sns.ITopic | undefined;
  /** Where async callers upload inputs (`s3://.../inference/<endpoint>/input/`). */
  readonly asyncInputUrl: string | undefined;
  /** Where async results are written. */
  readonly asyncOutputUrl: string | undefined;
  /** Where captured requests and responses are written. */
  readonly dataCaptureUrl: string | undefined;
  /** Percentage of requests captured, when capture is on. */
  readonly dataCaptureSamplingPercentage: number | undefined;
  /** Whether the endpoint configuration carries the model store key (false on NVMe types). */
  readonly volumeKmsKeyApplied: boolean;

  private readonly modelStore: ModelStore;
  private readonly rollbackAlarms: cloudwatch.IAlarm[];

  constructor(scope: Construct, id: string, props: InferenceEndpointProps) {
    super(scope, id);
    this.modelStore = props.modelStore;
    this.endpointName = props.endpointName ?? Names.uniqueResourceName(this, { maxLength: 63, separator: '-' });
    this.variantName = props.variantName ?? 'AllTraffic';
    const serverless = props.serverless;
    this.instanceType = serverless ? undefined : describeInstanceType('InferenceEndpoint.instanceType', props.instanceType ?? 'ml.g5.xlarge');
    this.initialInstanceCount = props.initialInstanceCount ?? 1;
    this.rollbackAlarms = [...(props.rollbackAlarms ?? [])];
    this.validate(props);

    const store = props.modelStore;
    const samplingPercentage = !serverless && (props.dataCapture?.enabled ?? true) ? (props.dataCapture?.samplingPercentage ?? 100) : undefined;
    const captureEnabled = samplingPercentage !== undefined && samplingPercentage > 0;
    const asyncPrefix = `${store.inferencePrefix}${this.endpointName}/`;
    this.asyncInputUrl = props.asyncInference ? store.urlForObject(`${asyncPrefix}input/`) : undefined;
    this.asyncOutputUrl = props.asyncInference ? store.urlForObject(`${asyncPrefix}output/`) : undefined;

    this.role =
      props.role ??
      new ModelExecutionRole(this, 'ExecutionRole', {
        modelStore: store,
        images: [props.image],
        ...InferenceEndpoint.storePrefixes(store, this.endpointName, { capture: captureEnabled, async: props.asyncInference !== undefined }),
        vpc: props.vpc !== undefined,
      });
    const blueprint = endpointBlueprint({
      modelStore: store,
      endpointName: this.endpointName,
      variantName: this.variantName,
      role: this.role,
      instanceType: this.instanceType,
      initialInstanceCount: this.initialInstanceCount,
      dataCaptureSamplingPercentage: samplingPercentage,
    });
    this.volumeKmsKeyApplied = blueprint.volumeKmsKeyApplied;
    this.dataCaptureUrl = blueprint.dataCaptureUrl;
    this.dataCaptureSamplingPercentage = blueprint.dataCaptureSamplingPercentage;

    this.grantModelDataRead(props.modelDataUrl);
    const { asyncInferenceConfig, successTopic, errorTopic } = this.renderAsyncInference(props);
    this.asyncSuccessTopic = successTopic;
    this.asyncErrorTopic = errorTopic;

    this.model = new sagemaker.CfnModel(this, 'Model', {
      executionRoleArn: this.role.roleArn,
      primaryContainer: {
        image: props.image.imageUri,
        modelDataUrl: props.modelDataUrl,
        mode: 'SingleModel',
        environment: props.environment === undefined || Object.keys(props.environment).length === 0 ? undefined : { ...props.environment },
      },
      enableNetworkIsolation: props.networkIsolation ?? true,
      vpcConfig: this.renderVpcConfig(props),
    });
    // The model is validated against its role at creation: wait for the role's policy.
    this.model.node.addDependency(this.role.role);

    this.endpointConfig = new sagemaker.CfnEndpointConfig(this, 'Config', {
      productionVariants: [
        serverless
          ? {
              variantName: this.variantName,
              modelName: this.model.attrModelName,
              serverlessConfig: {
                memorySizeInMb: serverless.memorySizeInMb ?? 2048,
                maxConcurrency: serverless.maxConcurrency ?? 5,
                provisionedConcurrency: serverless.provisionedConcurrency,
              },
            }
          : {
              variantName: this.variantName,
              modelName: this.model.attrModelName,
              instanceType: this.instanceType!.name,
              initialInstanceCount: this.initialInstanceCount,
              initialVariantWeight: 1,
            },
      ],
      kmsKeyId: this.volumeKmsKeyApplied ? store.key.keyArn : undefined,
      dataCaptureConfig: this.dataCaptureUrl
        ? {
            enableCapture: true,
            initialSamplingPercentage: this.dataCaptureSamplingPercentage ?? 100,
            destinationS3Uri: this.dataCaptureUrl,
            kmsKeyId: store.key.keyArn,
            captureOptions: [{ captureMode: 'Input' }, { captureMode: 'Output' }],
            captureContentTypeHeader: {
              jsonContentTypes: [...CAPTURE_JSON_CONTENT_TYPES],
              csvContentTypes: [...CAPTURE_CSV_CONTENT_TYPES],
            },
          }
        : undefined,
      asyncInferenceConfig,
    });

    const deployment = props.deployment ?? {};
    this.endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointName: this.endpointName,
      endpointConfigName: this.endpointConfig.attrEndpointConfigName,
      deploymentConfig: {
        blueGreenUpdatePolicy: {
          trafficRoutingConfiguration: {
            type: 'CANARY',
            canarySize: { type: 'CAPACITY_PERCENT', value: deployment.canaryPercent ?? 10 },
            waitIntervalInSeconds: (deployment.canaryWait ?? Duration.minutes(5)).toSeconds(),
          },
          terminationWaitInSeconds: (deployment.terminationWait ?? Duration.minutes(5)).toSeconds(),
        },
        autoRollbackConfiguration: Lazy.any({
          produce: () =>
            this.rollbackAlarms.length === 0 ? undefined : { alarms: this.rollbackAlarms.map((alarm) => ({ alarmName: alarm.alarmName })) },
        }),
      },
    });
    this.node.addValidation({
      validate: () =>
        this.rollbackAlarms.length > MAX_ROLLBACK_ALARMS
          ? [`InferenceEndpoint.rollbackAlarms: at most ${MAX_ROLLBACK_ALARMS} alarms are allowed, got ${this.rollbackAlarms.length}`]
          : [],
    });

    this.metrics = new EndpointMetrics(this.endpointName, this.variantName);
  }

  /**
   * The store prefixes an endpoint's execution role reads (the models, async inputs) and
   * writes (its capture folder, async results), for building a role ahead of the endpoint.
   */
  static storePrefixes(
    store: ModelStore,
    endpointName: string,
    uses: { readonly capture: boolean; readonly async: boolean },
  ): { readPrefixes: string[]; writePrefixes: string[] } {
    const asyncPrefix = `${store.inferencePrefix}${endpointName}/`;
    return {
      readPrefixes: [store.modelsPrefix, ...(uses.async ? [`${asyncPrefix}input/`] : [])],
      writePrefixes: [
        ...(uses.capture ? [`${store.capturePrefix}${endpointName}/`] : []),
        ...(uses.async ? [`${asyncPrefix}output/`, `${asyncPrefix}failure/`] : []),
      ],
    };
  }

  /** The endpoint's ARN. */
  get endpointArn(): string {
    // Ref of AWS::SageMaker::Endpoint is its ARN.
    return this.endpoint.ref;
  }

  /** Roll blue/green updates back while `alarm` fires. */
  addRollbackAlarm(alarm: cloudwatch.IAlarm): void {
    this.rollbackAlarms.push(alarm);
  }

  /**
   * Let `grantee` invoke the endpoint (real-time, streaming and async). For an async
   * endpoint it may also upload inputs and read results in the store.
   */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync', 'sagemaker:InvokeEndpointWithResponseStream'],
      resourceArns: [this.endpointArn],
    });
    if (this.asyncInputUrl !== undefined) {
      const prefix = `${this.modelStore.inferencePrefix}${this.endpointName}/`;
      this.modelStore.grantWrite(grantee, `${prefix}input/`);
      this.modelStore.grantRead(grantee, `${prefix}output/`);
      this.modelStore.grantRead(grantee, `${prefix}failure/`);
    }
    return grant;
  }

  /** Scale the variant's instance count on invocations per instance (and on schedules). */
  autoScaleInstanceCount(options: EndpointAutoScalingOptions = {}): EndpointAutoScaling {
    if (this.instanceType === undefined) {
      throw new PropValidationError('InferenceEndpoint.serverless', 'a serverless variant scales by itself; instance autoscaling needs an instance variant');
    }
    return new EndpointAutoScaling(this, 'AutoScaling', {
      ...options,
      endpointName: this.endpointName,
      variantName: this.variantName,
      instanceType: this.instanceType.name,
      initialInstanceCount: this.initialInstanceCount,
      dependsOn: this.endpoint,
    });
  }

  /** Requests sent to the variant. */
  metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.invocations(props);
  }
  /** Requests per instance (what target tracking scales on). */
  metricInvocationsPerInstance(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.invocationsPerInstance(props);
  }
  /** Model latency in microseconds. */
  metricModelLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.modelLatency(props);
  }
  /** SageMaker overhead latency in microseconds. */
  metricOverheadLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.overheadLatency(props);
  }
  /** 4XX responses. */
  metricInvocation4XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.invocation4XXErrors(props);
  }
  /** 5XX responses. */
  metricInvocation5XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.invocation5XXErrors(props);
  }
  /** CPU utilisation in percent (per core, summed). */
  metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.cpuUtilization(props);
  }
  /** Memory utilisation in percent. */
  metricMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.memoryUtilization(props);
  }
  /** GPU utilisation in percent (per GPU, summed). */
  metricGpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.gpuUtilization(props);
  }
  /** GPU memory utilisation in percent (per GPU, summed). */
  metricGpuMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.gpuMemoryUtilization(props);
  }
  /** Disk utilisation in percent. */
  metricDiskUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.diskUtilization(props);
  }

  private validate(props: InferenceEndpointProps): void {
    requireMatch('InferenceEndpoint.endpointName', this.endpointName, ENDPOINT_NAME, '1 to 63 letters, digits or hyphens, starting and ending with a letter or digit');
    requireMatch('InferenceEndpoint.variantName', this.variantName, VARIANT_NAME, '1 to 63 letters, digits or hyphens, starting and ending with a letter or digit');
    requireMatch('InferenceEndpoint.modelDataUrl', props.modelDataUrl, MODEL_DATA_URL, 'an S3 URL of a model archive, like "s3://my-bucket/models/job-1/output/model.tar.gz"');
    requireIntegerInRange('InferenceEndpoint.initialInstanceCount', this.initialInstanceCount, 1, 100);
    const capture = props.dataCapture ?? {};
    if (capture.samplingPercentage !== undefined) {
      requireIntegerInRange('InferenceEndpoint.dataCapture.samplingPercentage', capture.samplingPercentage, 0, 100);
    }
    const deployment = props.deployment ?? {};
    requireIntegerInRange('InferenceEndpoint.deployment.canaryPercent', deployment.canaryPercent, 1, 99);
    requireIntegerInRange('InferenceEndpoint.deployment.canaryWait (seconds)', deployment.canaryWait?.toSeconds(), 0, 3600);
    requireIntegerInRange('InferenceEndpoint.deployment.terminationWait (seconds)', deployment.terminationWait?.toSeconds(), 0, 3600);
    requireIntegerInRange('InferenceEndpoint.asyncInference.maxConcurrentInvocationsPerInstance', props.asyncInference?.maxConcurrentInvocationsPerInstance, 1, 1000);
    if (this.instanceType?.burstable === true) {
      throw new PropValidationError(
        'InferenceEndpoint.instanceType',
        `burstable ${this.instanceType.name} runs out of CPU credits under sustained inference; use a GPU type (default ml.g5.xlarge) or a non-burstable CPU type such as ml.m5.large, ml.c5.xlarge or ml.c7g.large`,
      );
    }
    const serverless = props.serverless;
    if (serverless) {
      const memory = serverless.memorySizeInMb ?? 2048;
      if (!Token.isUnresolved(memory) && !SERVERLESS_MEMORY_SIZES.includes(memory)) {
        throw new PropValidationError('InferenceEndpoint.serverless.memorySizeInMb', `must be one of ${SERVERLESS_MEMORY_SIZES.join(', ')}, got ${memory}`);
      }
      const concurrency = serverless.maxConcurrency ?? 5;
      requireIntegerInRange('InferenceEndpoint.serverless.maxConcurrency', concurrency, 1, 200);
      requireIntegerInRange('InferenceEndpoint.serverless.provisionedConcurrency', serverless.provisionedConcurrency, 1, concurrency);
      const unsupported: Array<[string, boolean]> = [
        ['instanceType', props.instanceType !== undefined],
        ['asyncInference', props.asyncInference !== undefined],
        ['vpc', props.vpc !== undefined],
        ['networkIsolation', props.networkIsolation === true],
        ['dataCapture', props.dataCapture?.enabled === true || props.dataCapture?.samplingPercentage !== undefined],
      ];
      for (const [prop, set] of unsupported) {
        if (set) {
          throw new PropValidationError(`InferenceEndpoint.${prop}`, 'is not supported with a serverless variant (SageMaker Serverless Inference has no instances, GPUs, VPC, network isolation, data capture or async mode); remove it or remove `serverless`');
        }
      }
    }
    if (props.vpc === undefined && (props.vpcSubnets !== undefined || props.securityGroups !== undefined)) {
      throw new PropValidationError('InferenceEndpoint.vpc', '`vpcSubnets` and `securityGroups` need `vpc` as well');
    }
    requireIntegerInRange('InferenceEndpoint.securityGroups (count)', props.securityGroups?.length, 1, 5);
  }

  /**
   * Read access to exactly the model archive, wherever it is (the store's models/ prefix is
   * already readable; an archive elsewhere, e.g. from an earlier stack, needs this).
   */
  private grantModelDataRead(modelDataUrl: string): void {
    if (Token.isUnresolved(modelDataUrl)) return;
    const objectPath = modelDataUrl.slice('s3://'.length);
    this.role.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadModelArchive',
        actions: ['s3:GetObject'],
        resources: [`arn:${Stack.of(this).partition}:s3:::${objectPath}`],
      }),
    );
  }

  private renderVpcConfig(props: InferenceEndpointProps): sagemaker.CfnModel.VpcConfigProperty | undefined {
    if (props.vpc === undefined) return undefined;
    const subnets = props.vpc.selectSubnets(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    if (subnets.subnetIds.length === 0) {
      throw new PropValidationError('InferenceEndpoint.vpcSubnets', 'selects no subnets of `vpc`; pass subnets explicitly, e.g. { subnets: [...] }');
    }
    const groups = props.securityGroups ?? [
      new ec2.SecurityGroup(this, 'SecurityGroup', {
        vpc: props.vpc,
        description: 'modelstack inference containers: no inbound traffic; outbound to AWS endpoints in the VPC',
        allowAllOutbound: true,
      }),
    ];
    return { subnets: subnets.subnetIds, securityGroupIds: groups.map((group) => group.securityGroupId) };
  }

  private renderAsyncInference(props: InferenceEndpointProps): {
    asyncInferenceConfig: sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty | undefined;
    successTopic: sns.ITopic | undefined;
    errorTopic: sns.ITopic | undefined;
  } {
    const options = props.asyncInference;
    if (options === undefined) return { asyncInferenceConfig: undefined, successTopic: undefined, errorTopic: undefined };
    const store = props.modelStore;
    const prefix = `${store.inferencePrefix}${this.endpointName}/`;
    // One key for both new topics: a KMS key costs a monthly fee, the two topics share a purpose.
    const needsKey = options.successTopic === undefined || options.errorTopic === undefined;
    const masterKey = needsKey ? EncryptedTopic.createKey(this, 'AsyncTopicsKey') : undefined;
    const successTopic = options.successTopic ?? new EncryptedTopic(this, 'AsyncSuccess', { masterKey, displayName: 'modelstack async inference: success' }).topic;
    const errorTopic = options.errorTopic ?? new EncryptedTopic(this, 'AsyncError', { masterKey, displayName: 'modelstack async inference: error' }).topic;
    successTopic.grantPublish(this.role);
    errorTopic.grantPublish(this.role);
    return {
      successTopic,
      errorTopic,
      asyncInferenceConfig: {
        clientConfig:
          options.maxConcurrentInvocationsPerInstance === undefined ? undefined : { maxConcurrentInvocationsPerInstance: options.maxConcurrentInvocationsPerInstance },
        outputConfig: {
          s3OutputPath: store.urlForObject(`${prefix}output/`),
          s3FailurePath: store.urlForObject(`${prefix}failure/`),
          kmsKeyId: store.key.keyArn,
          notificationConfig: { successTopic: successTopic.topicArn, errorTopic: errorTopic.topicArn },
        },
      },
    };
  }
}
