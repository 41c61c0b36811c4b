/**
 * Writes a trained model as the artifact folder: model.onnx, model.json and MANIFEST.json.
 *
 * Nothing that varies between identical runs goes into model.onnx or model.json (the digested
 * files): the write time is recorded in MANIFEST.json instead.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_FILE, createManifest, sha256Hex, type Manifest } from './digest.ts';
import { MODEL_JSON_FILE, MODEL_ONNX_FILE } from './files.ts';
import type { ModelDescription } from './model-description.ts';

const MANIFEST_TEMP = `${MANIFEST_FILE}.tmp`;
const ARTIFACT_FILES = new Set([MODEL_ONNX_FILE, MODEL_JSON_FILE, MANIFEST_FILE, MANIFEST_TEMP]);

/**
 * Saves the artifact into `dir` (created if needed) and returns its manifest.
 *
 * The folder must hold nothing else: SageMaker tars the whole folder, and loading refuses any
 * file the manifest does not list, so a stray file is reported here, where it is cheap to fix.
 * A previous manifest is removed first and the new one is written last (via a rename), so a
 * folder with a manifest is a complete one even if the process dies half way.
 */
export interface SaveArtifactOptions {
  /**
   * Recorded in MANIFEST.json, outside the digested files, so it never changes the digest.
   * @default now
   */
  readonly createdAt?: Date;
}

export async function saveArtifact(dir: string, onnx: Uint8Array, description: ModelDescription, options: SaveArtifactOptions = {}): Promise<Manifest> {
  await mkdir(dir, { recursive: true });
  const strays = (await readdir(dir)).filter((name) => !ARTIFACT_FILES.has(name));
  if (strays.length > 0) {
    throw new Error(
      `model folder ${dir} must be empty or hold only a previous artifact, but it also holds: ${strays.sort().join(', ')}`,
    );
  }
  const json = new TextEncoder().encode(`${JSON.stringify(description, null, 2)}\n`);
  const createdAt = (options.createdAt ?? new Date()).toISOString();
  const manifest = createManifest({ [MODEL_ONNX_FILE]: sha256Hex(onnx), [MODEL_JSON_FILE]: sha256Hex(json) }, createdAt);
  const manifestPath = path.join(dir, MANIFEST_FILE);
  await rm(manifestPath, { force: true });
  await writeFile(path.join(dir, MODEL_ONNX_FILE), onnx);
  await writeFile(path.join(dir, MODEL_JSON_FILE), json);
  const tempPath = path.join(dir, MANIFEST_TEMP);
  await writeFile(tempPath, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(tempPath, manifestPath);
  return manifest;
}
