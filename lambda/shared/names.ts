/**
 * Deterministic names for everything a run creates. Re-running a step (a Step Functions retry,
 * or a redrive of a failed execution) computes the same names, so SageMaker answers "already
 * exists" instead of creating a second training job, model or endpoint configuration.
 */
import { createHash } from 'node:crypto';

/** The first `length` hex characters of SHA-256(`text`). */
export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** The version number at the end of a versioned model package ARN (`.../group/7` -> 7). */
export function modelPackageVersion(modelPackageArn: string): number {
  const version = Number(modelPackageArn.split('/').at(-1));
  if (!Number.isInteger(version) || version < 1) {
    throw new Error(`model package ARN ${modelPackageArn} does not end in a version number (arn:...:model-package/<group>/<version>)`);
  }
  return version;
}

/**
 * The SageMaker model and endpoint configuration names for deploying one model package:
 * `<prefix>-v<version>-<hash>`, at most 63 characters, lowercase (SageMaker lowercases names in
 * ARNs, and the pipeline's IAM policies match `<prefix>-*`).
 */
export function deploymentNames(prefix: string, modelPackageArn: string): { modelName: string; endpointConfigName: string } {
  const base = `${prefix}-v${modelPackageVersion(modelPackageArn)}-${shortHash(modelPackageArn)}`;
  return { modelName: base, endpointConfigName: `${base}-config` };
}
