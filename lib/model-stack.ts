import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import type { Construct } from 'constructs';
import type { EndpointAutoScaling, EndpointAutoScalingOptions } from './endpoint/endpoint-autoscaling.ts';
import { ENDPOINT_DEFAULTS, type EndpointSpec } from './endpoint/endpoint-spec.ts';
import type { IInferenceEndpoint } from './endpoint/inference-endpoint-base.ts';
import { InferenceEndpoint } from './endpoint/inference-endpoint.ts';
import { resolveEndpointSpec, type EndpointSpecProps } from './endpoint/resolve-endpoint-spec.ts';
import { describeInstanceType, type InstanceTypeInfo } from './instance-type.ts';
import { ModelExecutionRole } from './model-execution-role.ts';
import type { ModelStackSettings } from './model-stack-settings.ts';
import { ModelStore } from './model-store.ts';
import { Monitoring } from './monitoring.ts';
import { TrainingPipeline, pipelinePropsFromSettings, type PipelineSettings } from './pipeline/index.ts';
import { RuntimeImage, type RuntimeFlavour } from './runtime-image.ts';
import { PropValidationError, requireMatch } from './validation.ts';

export interface ModelStackProps extends StackProps {
  /**
   * The stack's configuration.
   * @default every setting at its default: GPU endpoint settings, no endpoint until a model exists
   */
  readonly settings?: ModelStackSettings;

  /**
   * The training pipeline (train or tune, seal, evaluate, register, deploy to this endpoint);
   * `false` leaves it out.
   * @default the pipeline with its default settings
   */
  readonly pipeline?: PipelineSettings | false;
}

/**
 * modelstack's serving half: the encrypted model store, the runtime image, the execution
 * role, the inference endpoint with autoscaling (once a model exists), and the dashboard and
 * alarms. The training pipeline is added to this stack and uses its public properties.
 */
export class ModelStack extends Stack {
  readonly settings: ModelStackSettings;
  readonly modelStore: ModelStore;
  /** The name the endpoint has (or will have, once the pipeline creates it). */
  readonly endpointName: string;
  /** The variant every deployment keeps (blue/green updates require the same name). */
  readonly variantName: string;
  /** The serving instance type, or undefined when serverless. */
  readonly servingInstanceType: InstanceTypeInfo | undefined;
  /** The image the endpoint serves with (GPU flavour on GPU instances, CPU otherwise). */
  readonly servingImage: RuntimeImage;
  /** The role SageMaker models of this endpoint run as. */
  readonly servingRole: ModelExecutionRole;
  /**
   * The endpoint, whoever owns it: CloudFormation when `settings.modelDataUrl` is set, otherwise
   * the pipeline, whose first deployment creates it. Either way it has the dashboard, alarms and grants.
   */
  readonly endpoint: IInferenceEndpoint;
  /** The endpoint CloudFormation owns, when `settings.modelDataUrl` is set. */
  readonly inferenceEndpoint: InferenceEndpoint | undefined;
  /** The endpoint's settings, defaults applied: what CloudFormation renders, or the pipeline creates the endpoint with. */
  readonly endpointSpec: EndpointSpec;
  /** The endpoint's autoscaling, when there is an endpoint on instances and it is on. */
  readonly autoScaling: EndpointAutoScaling | undefined;
  readonly monitoring: Monitoring;
  /** The training pipeline, unless `pipeline: false`. */
  readonly pipeline: TrainingPipeline | undefined;

  private readonly images = new Map<string, RuntimeImage>();

  constructor(scope: Construct, id: string, props: ModelStackProps = {}) {
    super(scope, id, {
      description: 'modelstack: encrypted model store, runtime image, SageMaker inference endpoint, autoscaling, dashboard and alarms',
      ...props,
    });
    const settings = props.settings ?? {};
    this.settings = settings;
    this.endpointName = settings.endpointName ?? this.stackName.replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 63);
    requireMatch('modelstack.endpointName', this.endpointName, /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, '1 to 63 letters, digits or hyphens');

    this.modelStore = new ModelStore(this, 'ModelStore', {
      noncurrentVersionExpirationDays: settings.noncurrentVersionExpirationDays,
      removalPolicy: settings.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });

    const serverless = settings.serverless !== undefined;
    this.servingInstanceType = serverless ? undefined : describeInstanceType('modelstack.instanceType', settings.instanceType ?? ENDPOINT_DEFAULTS.instanceType);
    this.servingImage = this.runtimeImageFor(this.servingInstanceType);
    const asyncInference = settings.asyncInference === true;
    const endpointSettings: EndpointSpecProps = {
      modelStore: this.modelStore,
      endpointName: this.endpointName,
      instanceType: this.servingInstanceType?.name,
      initialInstanceCount: settings.initialInstanceCount,
      serverless: settings.serverless,
      dataCapture: serverless ? undefined : { samplingPercentage: settings.dataCapturePercent },
      deployment: {
        canaryPercent: settings.canaryPercent,
        canaryWait: settings.canaryWaitMinutes === undefined ? undefined : Duration.minutes(settings.canaryWaitMinutes),
        terminationWait: settings.terminationWaitMinutes === undefined ? undefined : Duration.minutes(settings.terminationWaitMinutes),
      },
    };
    const monitoringFor = (endpoint: IInferenceEndpoint): Monitoring =>
      new Monitoring(this, 'Monitoring', {
        endpoint,
        gpu: this.servingInstanceType?.gpu ?? false,
        alarmEmail: settings.alarmEmail,
        latencyP99Threshold: settings.latencyP99Ms === undefined ? undefined : Duration.millis(settings.latencyP99Ms),
        error5xxRatePercent: settings.error5xxRatePercent,
        error4xxRatePercent: settings.error4xxRatePercent,
        gpuMemoryPercent: settings.gpuMemoryPercent,
      });
    const servingRoleFor = (spec: EndpointSpec): ModelExecutionRole =>
      new ModelExecutionRole(this, 'ServingRole', {
        modelStore: this.modelStore,
        images: [this.servingImage],
        ...InferenceEndpoint.storePrefixes(this.modelStore, this.endpointName, { capture: spec.dataCapture !== undefined, async: asyncInference }),
        vpc: settings.vpc !== undefined,
      });

    const vpc = settings.vpc === undefined ? undefined : this.importVpc(settings.vpc);
    const scaling = autoScalingOptions(settings.autoscaling);
    if (settings.modelDataUrl === undefined) {
      if (settings.modelDigest !== undefined) {
        // The pipeline's models carry their registered digest; a lone one here would check nothing.
        throw new PropValidationError('ModelStack.modelDigest', 'is the digest of `modelDataUrl` and needs it; remove it, or set modelDataUrl to the archive it was sealed from');
      }
      // The pipeline creates this endpoint, so the pipeline registers its autoscaling.
      this.endpoint = InferenceEndpoint.fromEndpointName(this, 'Endpoint', this.endpointName);
      this.inferenceEndpoint = undefined;
      this.autoScaling = undefined;
      this.monitoring = monitoringFor(this.endpoint);
      this.endpointSpec = resolveEndpointSpec({ ...endpointSettings, rollbackAlarms: this.monitoring.rollbackAlarms, autoScaling: scaling });
      this.servingRole = servingRoleFor(this.endpointSpec);
    } else {
      // CloudFormation owns this endpoint, so CloudFormation registers its autoscaling (the
      // endpoint's spec asks the pipeline for none). The endpoint takes its role as a prop, so the
      // role is scoped to the capture folder of the same settings, resolved by the same function.
      this.servingRole = servingRoleFor(resolveEndpointSpec(endpointSettings));
      const endpoint = new InferenceEndpoint(this, 'Endpoint', {
        ...endpointSettings,
        image: this.servingImage,
        role: this.servingRole,
        modelDataUrl: settings.modelDataUrl,
        modelDigest: settings.modelDigest,
        asyncInference: asyncInference ? {} : undefined,
        networkIsolation: serverless ? undefined : (settings.networkIsolation ?? true),
        ...vpc,
      });
      this.endpoint = endpoint;
      this.inferenceEndpoint = endpoint;
      this.monitoring = monitoringFor(endpoint);
      for (const alarm of this.monitoring.rollbackAlarms) endpoint.addRollbackAlarm(alarm);
      this.endpointSpec = endpoint.spec;
      this.autoScaling = serverless || scaling === false ? undefined : endpoint.autoScaleInstanceCount(scaling);
    }
    this.variantName = this.endpointSpec.variant.variantName;
    this.addOutputs();
    this.pipeline = this.addPipeline(props.pipeline, vpc);
  }

  /**
   * The training pipeline over this stack's store, images, endpoint and its spec, alarm
   * topic and VPC: its training jobs and the models it deploys run where the endpoint's do.
   */
  private addPipeline(settings: PipelineSettings | false | undefined, vpc: ReturnType<ModelStack['importVpc']> | undefined): TrainingPipeline | undefined {
    if (settings === false) return undefined;
    const props = pipelinePropsFromSettings(settings ?? {}, this.stackName);
    return new TrainingPipeline(this, 'Pipeline', {
      ...props,
      modelStore: this.modelStore,
      image: this.runtimeImageFor(describeInstanceType('pipeline.instanceType', props.instanceType ?? 'ml.g5.2xlarge')),
      servingImage: this.servingImage,
      endpoint: this.endpoint,
      endpointSpec: this.endpointSpec,
      modelRole: this.servingRole.role,
      notificationTopic: this.monitoring.topic,
      ...vpc,
    });
  }

  /**
   * The runtime image of `flavour`, created on first use so an unused flavour is never built.
   * Graviton CPU types get an arm64 build.
   */
  runtimeImage(flavour: RuntimeFlavour, platform: ecrAssets.Platform = ecrAssets.Platform.LINUX_AMD64): RuntimeImage {
    const id = `RuntimeImage-${flavour}${platform.platform === ecrAssets.Platform.LINUX_AMD64.platform ? '' : '-arm64'}`;
    let image = this.images.get(id);
    if (image === undefined) {
      image = new RuntimeImage(this, id, { flavour, platform });
      this.images.set(id, image);
    }
    return image;
  }

  /** The image for an instance type: GPU flavour on GPU families, CPU otherwise (serverless too). */
  runtimeImageFor(instanceType: InstanceTypeInfo | undefined): RuntimeImage {
    if (instanceType?.gpu === true) return this.runtimeImage('gpu');
    return this.runtimeImage('cpu', instanceType?.graviton === true ? ecrAssets.Platform.LINUX_ARM64 : ecrAssets.Platform.LINUX_AMD64);
  }

  /** What a user needs after `cdk deploy`: where to put data, what to invoke, where to look. */
  private addOutputs(): void {
    new CfnOutput(this, 'ModelStoreBucketName', { value: this.modelStore.bucket.bucketName, description: 'Model store: upload training data under data/, models land under models/' });
    new CfnOutput(this, 'EndpointName', { value: this.endpointName, description: 'SageMaker endpoint name (created by this stack when modelDataUrl is set, otherwise by the pipeline)' });
    new CfnOutput(this, 'ServingRoleArn', { value: this.servingRole.roleArn, description: 'Execution role for SageMaker models of this endpoint' });
    new CfnOutput(this, 'ServingImageUri', { value: this.servingImage.imageUri, description: `Runtime image (${this.servingImage.flavour})` });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn, description: 'SNS topic every alarm notifies' });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName, description: 'CloudWatch dashboard' });
  }

  private importVpc(config: NonNullable<ModelStackSettings['vpc']>): Pick<
    ConstructorParameters<typeof InferenceEndpoint>[2],
    'vpc' | 'vpcSubnets' | 'securityGroups'
  > {
    // IDs only: synthesis stays free of AWS lookups (Vpc.fromLookup would need credentials).
    // The zone list only serves subnet selection by type; the subnets here are named explicitly.
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: config.vpcId, availabilityZones: this.availabilityZones.slice(0, 1) });
    const subnets = config.subnetIds.map((subnetId, index) => {
      const subnet = ec2.Subnet.fromSubnetId(this, `Subnet${index}`, subnetId);
      Validations.of(subnet).acknowledge({
        id: '@aws-cdk/aws-ec2:noSubnetRouteTableId',
        reason: 'SageMaker only needs the subnet ID for the model VpcConfig; nothing here reads the route table.',
      });
      return subnet;
    });
    return {
      vpc,
      vpcSubnets: { subnets },
      securityGroups: config.securityGroupIds?.map((groupId, index) => ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${index}`, groupId)),
    };
  }
}

/** The stack's autoscaling settings as EndpointAutoScaling options (whose defaults fill the rest); false when off. */
function autoScalingOptions(scaling: ModelStackSettings['autoscaling']): EndpointAutoScalingOptions | false {
  if (scaling === false) return false;
  return {
    minCapacity: scaling?.minCapacity,
    maxCapacity: scaling?.maxCapacity,
    targetInvocationsPerInstance: scaling?.targetInvocationsPerInstance,
    scaleInCooldown: scaling?.scaleInCooldownSeconds === undefined ? undefined : Duration.seconds(scaling.scaleInCooldownSeconds),
    scaleOutCooldown: scaling?.scaleOutCooldownSeconds === undefined ? undefined : Duration.seconds(scaling.scaleOutCooldownSeconds),
    schedules: scaling?.schedules,
  };
}
