/**
 * Seal step: proves a model artifact is exactly what the training run wrote, and records its
 * digests where later steps (and people) can check them.
 *
 * - `{ trainingJobName }` (after training): streams the job's model.tar.gz, checks every file
 *   against the MANIFEST.json inside it, computes the SHA-256 of the archive, and tags the
 *   object version it read with both digests.
 * - `{ modelPackageArn }` (before deploying): streams the package's model.tar.gz again and
 *   requires both digests to equal the ones registered on the package, so a model changed in
 *   S3 after approval is never deployed.
 *
 * Any mismatch throws ArtifactIntegrityError and the execution fails (closed).
 */
import { GetObjectCommand, GetObjectTaggingCommand, PutObjectTaggingCommand, type Tag } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, DescribeTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import type { Readable } from 'node:stream';
import { ArtifactIntegrityError } from '../model-runtime/src/artifact/digest.ts';
import { s3Client, sageMakerClient } from './shared/aws-clients.ts';
import { ArtifactMissingError, InvalidInputError } from './shared/errors.ts';
import { createLogger } from './shared/logger.ts';
import { inspectModelArchive, type ModelArchiveInspection } from './shared/model-archive.ts';
import { ARTIFACT_TAGS, PACKAGE_METADATA } from './shared/package-metadata.ts';
import { parseS3Uri } from './shared/s3-uri.ts';

export type SealEvent = { readonly trainingJobName: string } | { readonly modelPackageArn: string };

export interface SealResult {
  readonly artifactUri: string;
  /** The S3 object version that was read and tagged (null when the bucket is not versioned). */
  readonly versionId: string | null;
  readonly archiveSha256: string;
  readonly manifestDigest: string;
  readonly sizeBytes: number;
  readonly files: readonly string[];
}

const logger = createLogger('seal');

export async function handler(event: SealEvent): Promise<SealResult> {
  if ('trainingJobName' in event && typeof event.trainingJobName === 'string') {
    return sealTrainingOutput(event.trainingJobName);
  }
  if ('modelPackageArn' in event && typeof event.modelPackageArn === 'string') {
    return verifyRegisteredPackage(event.modelPackageArn);
  }
  throw new InvalidInputError(
    `seal expects {"trainingJobName": "..."} (seal a new artifact) or {"modelPackageArn": "..."} (verify before deploying), got ${JSON.stringify(event)}`,
  );
}

async function sealTrainingOutput(trainingJobName: string): Promise<SealResult> {
  const job = await sageMakerClient().send(new DescribeTrainingJobCommand({ TrainingJobName: trainingJobName }));
  const artifactUri = job.ModelArtifacts?.S3ModelArtifacts;
  if (!artifactUri) {
    throw new ArtifactMissingError(`training job ${trainingJobName} (${job.TrainingJobStatus}) reports no model artifact`);
  }
  const { inspection, versionId } = await readArchive(artifactUri);
  await tagArtifact(artifactUri, versionId, inspection);
  logger.info('artifact sealed', { trainingJobName, artifactUri, versionId, archiveSha256: inspection.archiveSha256, manifestDigest: inspection.manifest.digest });
  return result(artifactUri, versionId, inspection);
}

async function verifyRegisteredPackage(modelPackageArn: string): Promise<SealResult> {
  const modelPackage = await sageMakerClient().send(new DescribeModelPackageCommand({ ModelPackageName: modelPackageArn }));
  const artifactUri = modelPackage.InferenceSpecification?.Containers?.[0]?.ModelDataUrl;
  if (!artifactUri) throw new ArtifactMissingError(`model package ${modelPackageArn} has no ModelDataUrl`);
  const metadata = modelPackage.CustomerMetadataProperties ?? {};
  const expectedArchive = metadata[PACKAGE_METADATA.archiveSha256];
  const expectedManifest = metadata[PACKAGE_METADATA.manifestDigest];
  if (!expectedArchive || !expectedManifest) {
    throw new ArtifactIntegrityError(
      `model package ${modelPackageArn} records no ${PACKAGE_METADATA.archiveSha256}/${PACKAGE_METADATA.manifestDigest}: it was not sealed by this pipeline and will not be deployed`,
    );
  }
  const { inspection, versionId } = await readArchive(artifactUri);
  const mismatches = [
    inspection.archiveSha256 !== expectedArchive ? `archive SHA-256 is ${inspection.archiveSha256}, registered ${expectedArchive}` : '',
    inspection.manifest.digest !== expectedManifest ? `manifest digest is ${inspection.manifest.digest}, registered ${expectedManifest}` : '',
  ].filter((line) => line !== '');
  if (mismatches.length > 0) {
    throw new ArtifactIntegrityError(`${artifactUri} changed since model package ${modelPackageArn} was registered: ${mismatches.join('; ')}`);
  }
  logger.info('artifact verified against the registry', { modelPackageArn, artifactUri, versionId, archiveSha256: inspection.archiveSha256 });
  return result(artifactUri, versionId, inspection);
}

async function readArchive(artifactUri: string): Promise<{ inspection: ModelArchiveInspection; versionId: string | null }> {
  const { bucket, key } = parseS3Uri('artifactUri', artifactUri);
  let object;
  try {
    object = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    if (error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound')) {
      throw new ArtifactMissingError(`model artifact ${artifactUri} does not exist (${error.name})`);
    }
    throw error;
  }
  if (!object.Body) throw new ArtifactMissingError(`model artifact ${artifactUri} has no body`);
  const inspection = await inspectModelArchive(object.Body as Readable);
  return { inspection, versionId: object.VersionId ?? null };
}

/** Adds the digest tags to the exact object version that was read, keeping any other tags. */
async function tagArtifact(artifactUri: string, versionId: string | null, inspection: ModelArchiveInspection): Promise<void> {
  const { bucket, key } = parseS3Uri('artifactUri', artifactUri);
  const version = versionId ?? undefined;
  const current = await s3Client().send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: version }));
  const ours = new Set<string>(Object.values(ARTIFACT_TAGS));
  const tags: Tag[] = [
    ...(current.TagSet ?? []).filter((tag) => !ours.has(tag.Key ?? '')),
    { Key: ARTIFACT_TAGS.archiveSha256, Value: inspection.archiveSha256 },
    { Key: ARTIFACT_TAGS.manifestDigest, Value: inspection.manifest.digest },
  ];
  await s3Client().send(new PutObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: version, Tagging: { TagSet: tags } }));
}

function result(artifactUri: string, versionId: string | null, inspection: ModelArchiveInspection): SealResult {
  return {
    artifactUri,
    versionId,
    archiveSha256: inspection.archiveSha256,
    manifestDigest: inspection.manifest.digest,
    sizeBytes: inspection.sizeBytes,
    files: Object.keys(inspection.files).sort(),
  };
}
