/**
 * Keys under which the pipeline records facts on a model package (CustomerMetadataProperties),
 * on the sealed artifact (S3 object tags) and on endpoint configurations (tags). Every step that
 * writes or reads them imports these names, so they cannot drift apart.
 */

/** CustomerMetadataProperties of a registered model package. */
export const PACKAGE_METADATA = {
  archiveSha256: 'archive-sha256',
  manifestDigest: 'manifest-digest',
  trainingJobName: 'training-job',
  objectiveMetric: 'objective-metric',
  objectiveValue: 'objective-value',
} as const;

/** Prefix of the per-metric entries: `metric:validation_loss` -> "0.0412". */
export const METRIC_METADATA_PREFIX = 'metric:';

/** Tags on the sealed model.tar.gz. */
export const ARTIFACT_TAGS = {
  archiveSha256: 'modelstack:archive-sha256',
  manifestDigest: 'modelstack:manifest-digest',
} as const;

/** Tags on endpoint configurations the pipeline creates: what model they serve, how good it was. */
export const ENDPOINT_CONFIG_TAGS = {
  modelPackageArn: 'modelstack:model-package-arn',
  objectiveMetric: 'modelstack:objective-metric',
  objectiveValue: 'modelstack:objective-value',
} as const;
