/**
 * Register step: records a sealed, evaluated model as a new version in the SageMaker model
 * package group, with its digests and metrics, approved or waiting for a person's approval.
 *
 * Idempotent: the client token is derived from the training job name, so a retried step gets
 * the package it already created instead of a second version.
 */
import {
  CreateModelPackageCommand,
  DescribeModelPackageCommand,
  type ModelApprovalStatus,
  type ProductionVariantInstanceType,
  type TransformInstanceType,
} from '@aws-sdk/client-sagemaker';
import { sageMakerClient } from './shared/aws-clients.ts';
import { InvalidInputError } from './shared/errors.ts';
import { createLogger } from './shared/logger.ts';
import { shortHash } from './shared/names.ts';
import { METRIC_METADATA_PREFIX, PACKAGE_METADATA } from './shared/package-metadata.ts';

export type ApprovalMode = 'Approved' | 'PendingManualApproval';

export interface RegisterEvent {
  readonly trainingJobName: string;
  readonly modelPackageGroupName: string;
  readonly imageUri: string;
  readonly approval: ApprovalMode;
  readonly seal: { readonly artifactUri: string; readonly archiveSha256: string; readonly manifestDigest: string };
  readonly evaluation: { readonly metric: string; readonly value: number; readonly metrics: Readonly<Record<string, number>> };
  readonly inference: {
    readonly contentTypes: readonly string[];
    readonly responseTypes: readonly string[];
    readonly realtimeInstanceTypes: readonly ProductionVariantInstanceType[];
    readonly transformInstanceTypes: readonly TransformInstanceType[];
  };
}

export interface RegisterResult {
  readonly modelPackageArn: string;
  /** The package's status now: Approved continues to deployment, PendingManualApproval stops here. */
  readonly approvalStatus: ModelApprovalStatus | string;
}

const logger = createLogger('register');

export async function handler(event: RegisterEvent): Promise<RegisterResult> {
  validate(event);
  const client = sageMakerClient();
  const metricEntries = Object.entries(event.evaluation.metrics).map(([name, value]) => [`${METRIC_METADATA_PREFIX}${name}`, String(value)]);
  const created = await client.send(
    new CreateModelPackageCommand({
      ModelPackageGroupName: event.modelPackageGroupName,
      ModelPackageDescription: `Trained by ${event.trainingJobName}; ${event.evaluation.metric}=${event.evaluation.value}; archive sha256 ${event.seal.archiveSha256}`,
      // Same training job, same token: SageMaker returns the package it created the first time.
      ClientToken: shortHash(`register:${event.modelPackageGroupName}:${event.trainingJobName}`, 32),
      ModelApprovalStatus: event.approval,
      InferenceSpecification: {
        Containers: [{ Image: event.imageUri, ModelDataUrl: event.seal.artifactUri }],
        SupportedContentTypes: [...event.inference.contentTypes],
        SupportedResponseMIMETypes: [...event.inference.responseTypes],
        SupportedRealtimeInferenceInstanceTypes: [...event.inference.realtimeInstanceTypes],
        SupportedTransformInstanceTypes: [...event.inference.transformInstanceTypes],
      },
      CustomerMetadataProperties: {
        [PACKAGE_METADATA.archiveSha256]: event.seal.archiveSha256,
        [PACKAGE_METADATA.manifestDigest]: event.seal.manifestDigest,
        [PACKAGE_METADATA.trainingJobName]: event.trainingJobName,
        [PACKAGE_METADATA.objectiveMetric]: event.evaluation.metric,
        [PACKAGE_METADATA.objectiveValue]: String(event.evaluation.value),
        ...Object.fromEntries(metricEntries),
      },
    }),
  );
  const modelPackageArn = created.ModelPackageArn;
  if (!modelPackageArn) throw new Error(`CreateModelPackage in ${event.modelPackageGroupName} returned no ModelPackageArn`);
  // Read the status back: on a retried step the package may have been approved in the meantime.
  const described = await client.send(new DescribeModelPackageCommand({ ModelPackageName: modelPackageArn }));
  const approvalStatus = described.ModelApprovalStatus ?? event.approval;
  logger.info('model registered', { modelPackageArn, approvalStatus, trainingJobName: event.trainingJobName });
  return { modelPackageArn, approvalStatus };
}

function validate(event: RegisterEvent): void {
  const missing = (['trainingJobName', 'modelPackageGroupName', 'imageUri'] as const).filter(
    (field) => typeof event[field] !== 'string' || event[field] === '',
  );
  if (missing.length > 0) throw new InvalidInputError(`register needs ${missing.join(', ')}`);
  if (event.approval !== 'Approved' && event.approval !== 'PendingManualApproval') {
    throw new InvalidInputError(`register approval must be "Approved" or "PendingManualApproval", got ${JSON.stringify(event.approval)}`);
  }
  if (!event.seal?.artifactUri || !event.seal.archiveSha256 || !event.seal.manifestDigest) {
    throw new InvalidInputError('register needs seal {artifactUri, archiveSha256, manifestDigest}: only sealed artifacts are registered');
  }
  if (!event.evaluation || typeof event.evaluation.metric !== 'string' || !Number.isFinite(event.evaluation.value)) {
    throw new InvalidInputError('register needs evaluation {metric, value, metrics}: only evaluated models are registered');
  }
}
