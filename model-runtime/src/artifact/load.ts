/**
 * Loads an artifact folder, verifying MANIFEST.json before anything in it is trusted.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ArtifactIntegrityError, MANIFEST_FILE, parseManifest, verifyFileHashes, type Manifest } from './digest.ts';
import { MODEL_JSON_FILE, MODEL_ONNX_FILE, readArtifactFiles } from './files.ts';
import type { ModelDescription } from './model-description.ts';
import { parseModelDescription } from './parse-description.ts';

export interface LoadedArtifact {
  readonly dir: string;
  readonly description: ModelDescription;
  readonly onnx: Uint8Array;
  readonly manifest: Manifest;
}

/**
 * Throws ArtifactIntegrityError when MANIFEST.json is missing or invalid, or when any file is
 * changed, missing or not listed; the error names each such file.
 */
export async function loadArtifact(dir: string): Promise<LoadedArtifact> {
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
  return { dir: resolved, description, onnx, manifest };
}
