/**
 * The AWS SDK clients every handler uses, built once per Lambda container.
 *
 * SageMaker's control-plane APIs throttle hard (a few calls per second per account). The SDK's
 * standard retry strategy already backs off on ThrottlingException; we raise the number of
 * attempts so a burst of pipeline steps rides out the throttle inside one invocation, and Step
 * Functions retries the whole step (see lib/pipeline/retry-policy.ts) if it still fails.
 */
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';

/** Attempts per SDK call, the first included. */
export const SDK_MAX_ATTEMPTS = 6;

/** Client options shared by every client; `endpoint` lets tests point the real SDK at a loopback server. */
export interface ClientOptions {
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
}

export function createSageMakerClient(options: ClientOptions = {}): SageMakerClient {
  return new SageMakerClient({ ...options, maxAttempts: SDK_MAX_ATTEMPTS, retryMode: 'standard' });
}

export function createS3Client(options: ClientOptions = {}): S3Client {
  return new S3Client({ ...options, maxAttempts: SDK_MAX_ATTEMPTS, retryMode: 'standard' });
}

export function createApplicationAutoScalingClient(options: ClientOptions = {}): ApplicationAutoScalingClient {
  return new ApplicationAutoScalingClient({ ...options, maxAttempts: SDK_MAX_ATTEMPTS, retryMode: 'standard' });
}

let sageMaker: SageMakerClient | undefined;
let s3: S3Client | undefined;
let applicationAutoScaling: ApplicationAutoScalingClient | undefined;

/** The container-wide SageMaker client (created on first use). */
export function sageMakerClient(): SageMakerClient {
  sageMaker ??= createSageMakerClient();
  return sageMaker;
}

/** The container-wide S3 client (created on first use). */
export function s3Client(): S3Client {
  s3 ??= createS3Client();
  return s3;
}

/** The container-wide Application Auto Scaling client (created on first use). */
export function applicationAutoScalingClient(): ApplicationAutoScalingClient {
  applicationAutoScaling ??= createApplicationAutoScalingClient();
  return applicationAutoScaling;
}
