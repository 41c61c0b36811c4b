/**
 * MODEL_RUNTIME_EXPECTED_DIGEST: the manifest digest the model was sealed and registered with,
 * set on the SageMaker Model's container by whoever creates it (InferenceEndpoint's
 * `modelDigest`, the pipeline's deploy step, batch transform). MANIFEST.json proves the files
 * match the manifest; only this proves the manifest is the one that was sealed, so an archive
 * replaced whole in S3 (new files and a new, self-consistent manifest) is refused.
 *
 * Pure (no fs, no aws-cdk-lib): the stack's constructs and Lambdas import the name and the check.
 */

export const EXPECTED_DIGEST_ENV = 'MODEL_RUNTIME_EXPECTED_DIGEST';

/** A manifest digest: SHA-256, 64 hex characters. */
export const DIGEST_PATTERN = /^[0-9a-fA-F]{64}$/;

/** Why the value is refused, or undefined when it is a digest. */
export function digestProblem(value: string): string | undefined {
  return DIGEST_PATTERN.test(value)
    ? undefined
    : `is ${JSON.stringify(value)}; expected the model's manifest digest, 64 hex characters (MANIFEST.json "digest", as sealing records it)`;
}

/** The expected digest from the environment (lowercased), null when unset; throws on a malformed value. */
export function expectedDigestFromEnv(env: NodeJS.ProcessEnv): string | null {
  const raw = env[EXPECTED_DIGEST_ENV];
  if (raw === undefined || raw.trim() === '') return null;
  const problem = digestProblem(raw.trim());
  if (problem !== undefined) throw new Error(`${EXPECTED_DIGEST_ENV} ${problem}`);
  return raw.trim().toLowerCase();
}
