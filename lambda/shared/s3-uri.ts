import { InvalidInputError } from './errors.ts';

export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

/** Splits `s3://bucket/key`; throws naming `field` when the string is not one. */
export function parseS3Uri(field: string, uri: string): S3Location {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(uri);
  if (!match) {
    throw new InvalidInputError(`${field} must be an S3 URI like s3://bucket/models/job/output/model.tar.gz, got ${JSON.stringify(uri)}`);
  }
  return { bucket: match[1]!, key: match[2]! };
}
