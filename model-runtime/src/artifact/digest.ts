/**
 * The artifact's integrity record: MANIFEST.json holds the SHA-256 of every file in the model
 * folder and one digest over all of them (the seed's "model digest").
 *
 * The digest is the SHA-256 of the sha256sum-format listing (`<hex>  <name>\n` per file, sorted
 * by name), so `sha256sum` on the command line reproduces it:
 *
 *     cd model && sha256sum model.json model.onnx | sha256sum
 *
 * Pure on purpose (no fs, only node:crypto): the seal Lambda imports this file to check and
 * record the digest of an artifact it reads from S3.
 */
import { createHash } from 'node:crypto';

export const MANIFEST_FILE = 'MANIFEST.json';
export const MANIFEST_FORMAT = 'modelstack-manifest/1';

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly algorithm: 'sha256';
  /** File name (relative to the artifact folder, `/`-separated) -> SHA-256 hex of its bytes. */
  readonly files: Record<string, string>;
  /** `computeDigest(files)`. */
  readonly digest: string;
  /**
   * When the artifact was written (ISO 8601). Here and not in model.json, outside every digested
   * file, so the digest is a function of the model's bytes only: two identical training runs
   * give the same digest. Absent in manifests written before it moved here.
   */
  readonly createdAt?: string;
}

/** Thrown when an artifact does not match its manifest, or the manifest itself is unreadable. */
export class ArtifactIntegrityError extends Error {
  constructor(
    message: string,
    /** Files whose bytes differ from the manifest. */
    readonly changed: readonly string[] = [],
    /** Files the manifest lists that are not there. */
    readonly missing: readonly string[] = [],
    /** Files that are there but the manifest does not list. */
    readonly extra: readonly string[] = [],
  ) {
    super(message);
    this.name = 'ArtifactIntegrityError';
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 hex over the lines `${sha256hex}  ${name}\n`, sorted by name (sha256sum's format). */
export function computeDigest(files: Readonly<Record<string, string>>): string {
  const listing = Object.keys(files)
    .sort(compareNames)
    .map((name) => `${files[name]}  ${name}\n`)
    .join('');
  return sha256Hex(new TextEncoder().encode(listing));
}

/** Builds the manifest for a set of file hashes. */
export function createManifest(files: Readonly<Record<string, string>>, createdAt?: string): Manifest {
  const sorted: Record<string, string> = {};
  for (const name of Object.keys(files).sort(compareNames)) sorted[name] = files[name]!;
  return { format: MANIFEST_FORMAT, algorithm: 'sha256', files: sorted, digest: computeDigest(sorted), ...(createdAt === undefined ? {} : { createdAt }) };
}

/**
 * Parses and validates MANIFEST.json: its shape, every hash, and that `digest` really is the
 * digest over `files` (so a manifest edited by hand to match a tampered file is refused too).
 */
export function parseManifest(json: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ArtifactIntegrityError(`${MANIFEST_FILE} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isRecord(value)) throw new ArtifactIntegrityError(`${MANIFEST_FILE} must be a JSON object`);
  if (value.format !== MANIFEST_FORMAT) {
    throw new ArtifactIntegrityError(
      `${MANIFEST_FILE} has format ${JSON.stringify(value.format)}; expected "${MANIFEST_FORMAT}"`,
    );
  }
  if (value.algorithm !== 'sha256') {
    throw new ArtifactIntegrityError(
      `${MANIFEST_FILE} has algorithm ${JSON.stringify(value.algorithm)}; expected "sha256"`,
    );
  }
  const files = value.files;
  if (!isRecord(files) || Object.keys(files).length === 0) {
    throw new ArtifactIntegrityError(`${MANIFEST_FILE} must list at least one file under "files"`);
  }
  for (const [name, hash] of Object.entries(files)) {
    if (typeof hash !== 'string' || !SHA256_HEX.test(hash)) {
      throw new ArtifactIntegrityError(
        `${MANIFEST_FILE} lists ${name} with hash ${JSON.stringify(hash)}; expected 64 lowercase hex characters`,
      );
    }
    if (name === '' || name.startsWith('/') || name.split('/').includes('..') || name === MANIFEST_FILE) {
      throw new ArtifactIntegrityError(`${MANIFEST_FILE} lists an invalid file name ${JSON.stringify(name)}`);
    }
  }
  const hashes = files as Record<string, string>;
  const expected = computeDigest(hashes);
  if (value.digest !== expected) {
    throw new ArtifactIntegrityError(
      `${MANIFEST_FILE} digest ${JSON.stringify(value.digest)} does not match its own file list (expected ${expected}): the manifest was edited`,
    );
  }
  if (value.createdAt !== undefined && typeof value.createdAt !== 'string') {
    throw new ArtifactIntegrityError(`${MANIFEST_FILE} has createdAt ${JSON.stringify(value.createdAt)}; expected an ISO 8601 string`);
  }
  return { format: MANIFEST_FORMAT, algorithm: 'sha256', files: hashes, digest: expected, ...(value.createdAt === undefined ? {} : { createdAt: value.createdAt }) };
}

/**
 * Compares the hashes of the files actually present (MANIFEST.json itself excluded) with the
 * manifest; throws one ArtifactIntegrityError naming every changed, missing and extra file.
 */
export function verifyFileHashes(manifest: Manifest, actual: Readonly<Record<string, string>>): void {
  const changed: string[] = [];
  const missing: string[] = [];
  const extra: string[] = [];
  for (const [name, hash] of Object.entries(manifest.files)) {
    const found = actual[name];
    if (found === undefined) missing.push(name);
    else if (found !== hash) changed.push(name);
  }
  for (const name of Object.keys(actual)) {
    if (!(name in manifest.files)) extra.push(name);
  }
  if (changed.length + missing.length + extra.length === 0) return;
  const parts = [
    changed.length > 0 ? `changed: ${changed.sort(compareNames).join(', ')}` : '',
    missing.length > 0 ? `missing: ${missing.sort(compareNames).join(', ')}` : '',
    extra.length > 0 ? `not in the manifest: ${extra.sort(compareNames).join(', ')}` : '',
  ].filter((part) => part !== '');
  throw new ArtifactIntegrityError(
    `model artifact does not match ${MANIFEST_FILE} (digest ${manifest.digest}); ${parts.join('; ')}`,
    changed,
    missing,
    extra,
  );
}

/** Byte order, like `LC_ALL=C sort`, so the digest does not depend on the locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
