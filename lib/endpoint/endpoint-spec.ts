/**
 * The endpoint's settings with every default applied, as plain JSON: what `resolveEndpointSpec`
 * produces, what InferenceEndpoint renders as CloudFormation, and what the training pipeline
 * hands the deploy Lambda (lambda/deploy-model.ts), which renders the same settings as SageMaker
 * API calls. The defaults are written here and nowhere else.
 *
 * No aws-cdk-lib import: the Lambda bundle may import this file.
 */
import { EXPECTED_DIGEST_ENV } from '../../model-runtime/src/artifact/expected-digest.ts';
import type { EndpointAutoScalingSettings } from './endpoint-autoscaling.ts';

/** The documented defaults of an endpoint's settings. */
export const ENDPOINT_DEFAULTS = {
  /** Blue/green updates must keep the variant's name. */
  variantName: 'AllTraffic',
  instanceType: 'ml.g5.xlarge',
  initialInstanceCount: 1,
  serverlessMemorySizeInMb: 2048,
  serverlessMaxConcurrency: 5,
  dataCaptureSamplingPercentage: 100,
  canaryPercent: 10,
  canaryWaitSeconds: 300,
  terminationWaitSeconds: 300,
} as const;

/** A variant on instances, GPU or CPU. */
export interface InstanceVariantSpec {
  readonly kind: 'instances';
  readonly variantName: string;
  readonly instanceType: string;
  readonly initialInstanceCount: number;
}

/** A serverless variant: CPU only, billed per request. */
export interface ServerlessVariantSpec {
  readonly kind: 'serverless';
  readonly variantName: string;
  readonly memorySizeInMb: number;
  readonly maxConcurrency: number;
  /** Absent: every instance starts cold. */
  readonly provisionedConcurrency?: number;
}

export type VariantSpec = InstanceVariantSpec | ServerlessVariantSpec;

/** Requests and responses recorded to the store, encrypted with its key. */
export interface DataCaptureSpec {
  /** `s3://<store>/capture/<endpoint>/` */
  readonly destinationS3Uri: string;
  readonly samplingPercentage: number;
  readonly kmsKeyId: string;
  /** Captured as text rather than base64 (the runtime's JSON and CSV content types). */
  readonly jsonContentTypes: ReadonlyArray<string>;
  readonly csvContentTypes: ReadonlyArray<string>;
}

/** Blue/green updates: a canary share of capacity first, rolled back while an alarm fires. */
export interface DeploymentSpec {
  readonly canaryPercent: number;
  readonly canaryWaitSeconds: number;
  readonly terminationWaitSeconds: number;
  readonly rollbackAlarmNames: ReadonlyArray<string>;
}

export interface EndpointSpec {
  readonly endpointName: string;
  readonly variant: VariantSpec;
  /**
   * The store key on the endpoint configuration (its ML storage volumes). Absent on instance
   * types with local NVMe storage, which SageMaker rejects a key for and encrypts in hardware,
   * and on serverless variants, which have no volume.
   */
  readonly kmsKeyId?: string;
  /** Absent when capture is off (and always for serverless variants). */
  readonly dataCapture?: DataCaptureSpec;
  readonly deployment: DeploymentSpec;
  /**
   * Instance autoscaling registered through the Application Auto Scaling API after each
   * deployment the training pipeline makes; `false` when it is off. Absent when CloudFormation
   * scales the endpoint (InferenceEndpoint.autoScaleInstanceCount): registering it twice would
   * have the pipeline and every stack update overwrite each other's settings.
   */
  readonly autoScaling?: EndpointAutoScalingSettings | false;
}

/** What the deploy step creates and updates the endpoint with: all but the autoscaling, which a step of its own registers. */
export type EndpointDeploymentSpec = Omit<EndpointSpec, 'autoScaling'>;

/**
 * The serving container's environment: the user's variables plus MODEL_RUNTIME_EXPECTED_DIGEST
 * when the model's sealed digest is known, so the runtime refuses any other archive. Every
 * creator of a SageMaker Model (InferenceEndpoint, the deploy step, batch transform) sets the
 * digest under this one name; undefined when there is nothing to set.
 */
export function modelContainerEnvironment(
  modelDigest: string | undefined,
  environment: Readonly<Record<string, string>> = {},
): Record<string, string> | undefined {
  const merged: Record<string, string> = { ...environment, ...(modelDigest === undefined ? {} : { [EXPECTED_DIGEST_ENV]: modelDigest }) };
  return Object.keys(merged).length === 0 ? undefined : merged;
}
