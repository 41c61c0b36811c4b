import { resolveEndpointAutoScaling, type EndpointAutoScalingOptions, type EndpointAutoScalingSettings } from './endpoint-autoscaling.ts';
import type { InstanceTypeInfo } from '../instance-type.ts';
import type { ModelExecutionRole } from '../model-execution-role.ts';
import type { ModelStore } from '../model-store.ts';

/**
 * What it takes to create (or update) an endpoint the way this stack would: its name, variant,
 * role, instance type, and where and how it captures data. An InferenceEndpoint is one; before
 * the first model exists, ModelStack offers one without any endpoint resources, so the
 * training pipeline can create the endpoint with the same settings.
 */
export interface IEndpointBlueprint {
  readonly endpointName: string;
  readonly variantName: string;
  readonly role: ModelExecutionRole;
  /** The instance type, or undefined for a serverless variant. */
  readonly instanceType: InstanceTypeInfo | undefined;
  readonly initialInstanceCount: number;
  /** Whether the endpoint configuration carries the store key (false on NVMe types and serverless). */
  readonly volumeKmsKeyApplied: boolean;
  /** `s3://.../capture/<endpoint>/`, or undefined when capture is off. */
  readonly dataCaptureUrl: string | undefined;
  /** Percentage of requests captured, when capture is on. */
  readonly dataCaptureSamplingPercentage: number | undefined;
  /**
   * The instance autoscaling the training pipeline registers (Application Auto Scaling API)
   * after each deployment it makes: the settings with defaults applied, or `false` when
   * autoscaling is off. Undefined when CloudFormation owns the endpoint and its scaling (an
   * InferenceEndpoint with EndpointAutoScaling): registering it twice would have the pipeline
   * and every stack update overwrite each other's settings.
   * @default undefined: the pipeline leaves scaling alone
   */
  readonly pipelineAutoScaling?: EndpointAutoScalingSettings | false;
}

export interface EndpointBlueprintProps {
  readonly modelStore: ModelStore;
  readonly endpointName: string;
  readonly variantName: string;
  readonly role: ModelExecutionRole;
  readonly instanceType: InstanceTypeInfo | undefined;
  readonly initialInstanceCount: number;
  /** 0 to 100; undefined or 0 turns capture off. Serverless variants never capture. */
  readonly dataCaptureSamplingPercentage: number | undefined;
  /**
   * Instance autoscaling of the endpoint once the pipeline has created it; `false` turns it off.
   * Serverless variants scale by themselves and get none.
   * @default {} (EndpointAutoScaling's defaults: 1 to 4 instances, 100 invocations per instance per minute)
   */
  readonly autoScaling?: EndpointAutoScalingOptions | false;
}

/**
 * The blueprint of an endpoint with these settings (no resources are created). Autoscaling
 * settings are validated here, at synth, against the instance type and initial count.
 */
export function endpointBlueprint(props: EndpointBlueprintProps): IEndpointBlueprint {
  const store = props.modelStore;
  const capture = props.instanceType !== undefined && props.dataCaptureSamplingPercentage !== undefined && props.dataCaptureSamplingPercentage > 0;
  return {
    endpointName: props.endpointName,
    variantName: props.variantName,
    role: props.role,
    instanceType: props.instanceType,
    initialInstanceCount: props.initialInstanceCount,
    // SageMaker rejects KmsKeyId for instance types with local NVMe storage (encrypted in
    // hardware), and a serverless variant has no ML storage volume to encrypt.
    volumeKmsKeyApplied: props.instanceType !== undefined && !props.instanceType.nvmeInstanceStorage,
    dataCaptureUrl: capture ? store.urlForObject(`${store.capturePrefix}${props.endpointName}/`) : undefined,
    dataCaptureSamplingPercentage: capture ? props.dataCaptureSamplingPercentage : undefined,
    pipelineAutoScaling:
      props.instanceType === undefined || props.autoScaling === false
        ? false
        : resolveEndpointAutoScaling(props.autoScaling ?? {}, { instanceType: props.instanceType.name, initialInstanceCount: props.initialInstanceCount }),
  };
}
