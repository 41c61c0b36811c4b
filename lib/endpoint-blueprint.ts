import type { InstanceTypeInfo } from './instance-type.ts';
import type { ModelExecutionRole } from './model-execution-role.ts';
import type { ModelStore } from './model-store.ts';

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
}

/** The blueprint of an endpoint with these settings (no resources are created). */
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
  };
}
