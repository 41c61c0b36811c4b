/**
 * Loads an artifact folder, verifying MANIFEST.json before anything in it is trusted.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ArtifactIntegrityError, MANIFEST_FILE, parseManifest, verifyFileHashes, type Manifest } from './digest.ts';
import { EXPECTED_DIGEST_ENV } from './expected-digest.ts';
import { MODEL_JSON_FILE, MODEL_ONNX_FILE, readArtifactFiles } from './files.ts';
import { tokenizerFile, type ModelDescription } from './model-description.ts';
import { parseModelDescription } from './parse-description.ts';

export interface LoadedArtifact {
  readonly dir: string;
  readonly description: ModelDescription;
  /** model.onnx's bytes (every model has one). */
  readonly onnx: Uint8Array;
  /** Every file the manifest lists (model.onnx and model.json included), by relative name: the bytes that were verified. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  readonly manifest: Manifest;
}

export interface LoadArtifactOptions {
  /**
   * The digest the artifact was sealed with (MODEL_RUNTIME_EXPECTED_DIGEST); a manifest with any
   * other digest is refused even when every file matches it. Null or absent: not checked.
   */
  readonly expectedDigest?: string | null;
}

/**
 * Throws ArtifactIntegrityError when MANIFEST.json is missing or invalid, when its digest is not
 * the expected one, or when any file is changed, missing or not listed; the error names each
 * such file, or both digests.
 */
export async function loadArtifact(dir: string, options: LoadArtifactOptions = {}): Promise<LoadedArtifact> {
  const resolved = path.resolve(dir);
  let manifestJson: string;
  try {
    manifestJson = await readFile(path.join(resolved, MANIFEST_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ArtifactIntegrityError(
        `model artifact in ${resolved} has no ${MANIFEST_FILE}; it was not written by saveArtifact or is incomplete`,
        [],
        [MANIFEST_FILE],
      );
    }
    throw error;
  }
  const manifest = parseManifest(manifestJson);
  // Before any file is read: a replaced archive is refused on its manifest alone.
  const expected = options.expectedDigest?.toLowerCase();
  if (expected !== undefined && manifest.digest !== expected) {
    throw new ArtifactIntegrityError(
      `model artifact in ${resolved} has manifest digest ${manifest.digest}, but ${EXPECTED_DIGEST_ENV} (the sealed, registered digest) is ${expected}: the archive was replaced or is another model`,
    );
  }
  const files = await readArtifactFiles(resolved);
  verifyFileHashes(manifest, files.hashes);

  const onnx = files.bytes.get(MODEL_ONNX_FILE);
  const json = files.bytes.get(MODEL_JSON_FILE);
  if (onnx === undefined || json === undefined) {
    const absent = [MODEL_ONNX_FILE, MODEL_JSON_FILE].filter((name) => !files.bytes.has(name));
    throw new ArtifactIntegrityError(
      `model artifact in ${resolved} is consistent with its manifest but lacks ${absent.join(' and ')}`,
      [],
      absent,
    );
  }
  const description = parseModelDescription(new TextDecoder().decode(json));
  const tokenizer = tokenizerFile(description);
  if (tokenizer !== null && !files.bytes.has(tokenizer)) {
    throw new ArtifactIntegrityError(
      `model artifact in ${resolved} is consistent with its manifest but lacks ${tokenizer}, the tokenizer model.json names`,
      [],
      [tokenizer],
    );
  }
  return { dir: resolved, description, onnx, files: files.bytes, manifest };
}
