import { Lazy, Names, Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { acknowledgeRule } from '../compliance-findings.ts';
import { EncryptedTopic } from '../encrypted-topic.ts';
import { describeInstanceType, type InstanceTypeInfo } from '../instance-type.ts';
import { ModelExecutionRole } from '../model-execution-role.ts';
import type { ModelStore } from '../model-store.ts';
import type { RuntimeImage } from '../runtime-image.ts';
import { sageMakerArn } from '../sagemaker-arn.ts';
import { PropValidationError, requireIntegerInRange, requireMatch } from '../validation.ts';
import { EndpointAutoScaling, type EndpointAutoScalingOptions } from './endpoint-autoscaling.ts';
import { ENDPOINT_DEFAULTS, type EndpointSpec, type VariantSpec } from './endpoint-spec.ts';
import { InferenceEndpointBase, type IInferenceEndpoint } from './inference-endpoint-base.ts';
import { resolveEndpointSpec, resolveModelEnvironment, serverlessUnsupported, tooManyRollbackAlarms, type EndpointSpecProps } from './resolve-endpoint-spec.ts';

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

/**
 * The endpoint's settings (variant, capture, blue/green deployment, rollback alarms; see
 * EndpointSpecProps for each and its default), plus what only an endpoint CloudFormation creates
 * has: the model, its container and network, asynchronous inference. Autoscaling is added with
 * `autoScaleInstanceCount`, rollback alarms also with `addRollbackAlarm`.
 */
export interface InferenceEndpointProps extends Omit<EndpointSpecProps, 'endpointName' | 'autoScaling'> {
  /** The runtime image the endpoint runs (`model-runtime serve`). */
  readonly image: RuntimeImage;

  /**
   * The trained model, `s3://<bucket>/<key>.tar.gz`, as SageMaker training writes it. It is
   * extracted to /opt/ml/model before the container starts.
   */
  readonly modelDataUrl: string;

  /**
   * The model's sealed digest: MANIFEST.json's `digest` (64 hex characters), as sealing records it
   * (the pipeline's seal step output `manifestDigest`, the model package's `manifest-digest`, or
   * `modelstack train`'s output). Strongly recommended: the container gets it as
   * MODEL_RUNTIME_EXPECTED_DIGEST and refuses to serve an archive with any other digest, so a
   * model.tar.gz replaced whole in S3 (new files and a new manifest) is never served. Without it
   * the archive is checked only against its own manifest, and the container logs a warning.
   * @default none: the archive is checked against its own MANIFEST.json only
   */
  readonly modelDigest?: string;

  /**
   * The endpoint's name. It is fixed at synth so alarms can name the endpoint without a
   * reference cycle (the endpoint's rollback configuration names the alarms).
   * @default a unique name derived from the construct path
   */
  readonly endpointName?: string;

  /**
   * Serve asynchronously (queued requests, results in the store, SNS notifications).
   * @default real-time
   */
  readonly asyncInference?: AsyncInferenceOptions;

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

/** An endpoint known by name, e.g. one the training pipeline creates on its first deployment. */
export interface InferenceEndpointAttributes {
  readonly endpointName: string;
  /**
   * The variant the `metric*()` methods report on.
   * @default 'AllTraffic'
   */
  readonly variantName?: string;
}

const MODEL_DATA_URL = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+\.tar\.gz$/;

/**
 * A SageMaker real-time (or serverless, or asynchronous) inference endpoint serving the
 * runtime image: CfnModel + CfnEndpointConfig + CfnEndpoint, with a least-privilege role,
 * data capture into the model store, KMS where SageMaker allows it, and blue/green canary
 * updates that roll back on the endpoint's alarms. Its settings are resolved once
 * (`spec`, by resolveEndpointSpec) and rendered here as CloudFormation.
 */
export class InferenceEndpoint extends InferenceEndpointBase {
  /** An endpoint this app does not create, known by name: it gets the same metrics and grants. */
  static fromEndpointName(scope: Construct, id: string, endpointName: string): IInferenceEndpoint {
    return InferenceEndpoint.fromEndpointAttributes(scope, id, { endpointName });
  }

  /** An endpoint this app does not create, known by name and variant. */
  static fromEndpointAttributes(scope: Construct, id: string, attrs: InferenceEndpointAttributes): IInferenceEndpoint {
    class Import extends InferenceEndpointBase {
      readonly endpointName = attrs.endpointName;
      readonly variantName = attrs.variantName ?? ENDPOINT_DEFAULTS.variantName;
      readonly endpointArn = sageMakerArn(this, 'endpoint', attrs.endpointName);
    }
    return new Import(scope, id);
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

  /** The settings this endpoint is rendered from, defaults applied; rollback alarms added later included. */
  readonly spec: EndpointSpec;
  readonly endpointName: string;
  readonly variantName: string;
  /** The instance type, or undefined for a serverless variant. */
  readonly instanceType: InstanceTypeInfo | undefined;
  /** Instances at creation; 0 for a serverless variant. */
  readonly initialInstanceCount: number;
  readonly role: ModelExecutionRole;
  readonly model: sagemaker.CfnModel;
  readonly endpointConfig: sagemaker.CfnEndpointConfig;
  readonly endpoint: sagemaker.CfnEndpoint;
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
  /** The spec's rollback alarm names; `addRollbackAlarm` appends, CloudFormation renders them at synth. */
  private readonly rollbackAlarmNames: string[];

  constructor(scope: Construct, id: string, props: InferenceEndpointProps) {
    super(scope, id);
    this.modelStore = props.modelStore;
    const endpointName = props.endpointName ?? Names.uniqueResourceName(this, { maxLength: 63, separator: '-' });
    const resolved = resolveEndpointSpec({ ...props, endpointName });
    this.rollbackAlarmNames = [...resolved.deployment.rollbackAlarmNames];
    this.spec = { ...resolved, deployment: { ...resolved.deployment, rollbackAlarmNames: this.rollbackAlarmNames } };
    this.validate(props);
    const spec = this.spec;
    const variant = spec.variant;
    this.endpointName = spec.endpointName;
    this.variantName = variant.variantName;
    this.instanceType = variant.kind === 'instances' ? describeInstanceType('InferenceEndpoint.instanceType', variant.instanceType) : undefined;
    this.initialInstanceCount = variant.kind === 'instances' ? variant.initialInstanceCount : 0;
    this.volumeKmsKeyApplied = spec.kmsKeyId !== undefined;
    this.dataCaptureUrl = spec.dataCapture?.destinationS3Uri;
    this.dataCaptureSamplingPercentage = spec.dataCapture?.samplingPercentage;

    const store = props.modelStore;
    const asyncPrefix = `${store.inferencePrefix}${this.endpointName}/`;
    this.asyncInputUrl = props.asyncInference ? store.urlForObject(`${asyncPrefix}input/`) : undefined;
    this.asyncOutputUrl = props.asyncInference ? store.urlForObject(`${asyncPrefix}output/`) : undefined;

    this.role =
      props.role ??
      new ModelExecutionRole(this, 'ExecutionRole', {
        modelStore: store,
        images: [props.image],
        ...InferenceEndpoint.storePrefixes(store, this.endpointName, { capture: spec.dataCapture !== undefined, async: props.asyncInference !== undefined }),
        vpc: props.vpc !== undefined,
      });

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
        environment: resolveModelEnvironment(props.modelDigest, props.environment),
      },
      enableNetworkIsolation: props.networkIsolation ?? true,
      vpcConfig: this.renderVpcConfig(props),
    });
    // The model is validated against its role at creation: wait for the role's policy.
    this.model.node.addDependency(this.role.role);

    const capture = spec.dataCapture;
    this.endpointConfig = new sagemaker.CfnEndpointConfig(this, 'Config', {
      productionVariants: [renderVariant(variant, this.model.attrModelName)],
      kmsKeyId: spec.kmsKeyId,
      dataCaptureConfig: capture && {
        enableCapture: true,
        initialSamplingPercentage: capture.samplingPercentage,
        destinationS3Uri: capture.destinationS3Uri,
        kmsKeyId: capture.kmsKeyId,
        captureOptions: [{ captureMode: 'Input' }, { captureMode: 'Output' }],
        captureContentTypeHeader: { jsonContentTypes: [...capture.jsonContentTypes], csvContentTypes: [...capture.csvContentTypes] },
      },
      asyncInferenceConfig,
    });
    if (spec.kmsKeyId === undefined) {
      acknowledgeRule(
        this.endpointConfig,
        'SageMakerEndpointConfigurationKMSKeyConfigured',
        this.instanceType === undefined
          ? 'A serverless variant has no ML storage volume to encrypt (SageMaker manages its compute); the model artifact and captured data stay encrypted with the model store key.'
          : `${this.instanceType.name} has local NVMe instance storage, which the instance encrypts in hardware; SageMaker rejects a KmsKeyId on an endpoint configuration for such instances (CreateEndpointConfig, KmsKeyId). A type without NVMe storage (ml.m5, ml.c5 and other types without a d suffix) gets its volume encrypted with the model store key.`,
      );
    }

    const deployment = spec.deployment;
    this.endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointName: this.endpointName,
      endpointConfigName: this.endpointConfig.attrEndpointConfigName,
      deploymentConfig: {
        blueGreenUpdatePolicy: {
          trafficRoutingConfiguration: {
            type: 'CANARY',
            canarySize: { type: 'CAPACITY_PERCENT', value: deployment.canaryPercent },
            waitIntervalInSeconds: deployment.canaryWaitSeconds,
          },
          terminationWaitInSeconds: deployment.terminationWaitSeconds,
        },
        // Rendered at synth, so alarms added after construction roll back too.
        autoRollbackConfiguration: Lazy.any({
          produce: () => (this.rollbackAlarmNames.length === 0 ? undefined : { alarms: this.rollbackAlarmNames.map((alarmName) => ({ alarmName })) }),
        }),
      },
    });
    this.node.addValidation({
      validate: () => {
        const tooMany = tooManyRollbackAlarms(this.rollbackAlarmNames.length);
        return tooMany === undefined ? [] : [tooMany.message];
      },
    });
  }

  /** The endpoint's ARN. */
  get endpointArn(): string {
    // Ref of AWS::SageMaker::Endpoint is its ARN.
    return this.endpoint.ref;
  }

  /** Roll blue/green updates back while `alarm` fires. */
  addRollbackAlarm(alarm: cloudwatch.IAlarm): void {
    this.rollbackAlarmNames.push(alarm.alarmName);
  }

  /**
   * Let `grantee` invoke the endpoint (real-time, streaming and async). For an async
   * endpoint it may also upload inputs and read results in the store.
   */
  override grantInvoke(grantee: iam.IGrantable): iam.Grant {
    const grant = super.grantInvoke(grantee);
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

  /** What the spec does not cover: the model's URL, async inference and the network. */
  private validate(props: InferenceEndpointProps): void {
    requireMatch('InferenceEndpoint.modelDataUrl', props.modelDataUrl, MODEL_DATA_URL, 'an S3 URL of a model archive, like "s3://my-bucket/models/job-1/output/model.tar.gz"');
    requireIntegerInRange('InferenceEndpoint.asyncInference.maxConcurrentInvocationsPerInstance', props.asyncInference?.maxConcurrentInvocationsPerInstance, 1, 1000);
    if (props.serverless) {
      const unsupported: Array<[string, boolean]> = [
        ['asyncInference', props.asyncInference !== undefined],
        ['vpc', props.vpc !== undefined],
        ['networkIsolation', props.networkIsolation === true],
      ];
      for (const [prop, set] of unsupported) {
        if (set) throw serverlessUnsupported(prop);
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

/** The CloudFormation production variant of `variant`, serving `modelName`. */
function renderVariant(variant: VariantSpec, modelName: string): sagemaker.CfnEndpointConfig.ProductionVariantProperty {
  if (variant.kind === 'serverless') {
    return {
      variantName: variant.variantName,
      modelName,
      serverlessConfig: { memorySizeInMb: variant.memorySizeInMb, maxConcurrency: variant.maxConcurrency, provisionedConcurrency: variant.provisionedConcurrency },
    };
  }
  return { variantName: variant.variantName, modelName, instanceType: variant.instanceType, initialInstanceCount: variant.initialInstanceCount, initialVariantWeight: 1 };
}
