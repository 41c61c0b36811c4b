/**
 * Writes a trained model as the artifact folder: model.json (from the description), the files
 * the model is made of (model.onnx always; a text model's tokenizer.json, a language model's
 * config.json and generation_config.json ...) and MANIFEST.json over all of them.
 *
 * Nothing that varies between identical runs goes into the digested files: the write time is
 * recorded in MANIFEST.json instead.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_FILE, createManifest, parseManifest, sha256Hex, type Manifest } from './digest.ts';
import { MODEL_JSON_FILE, MODEL_ONNX_FILE } from './files.ts';
import { tokenizerFile, type ModelDescription } from './model-description.ts';

const MANIFEST_TEMP = `${MANIFEST_FILE}.tmp`;

/** File name (relative, `/`-separated) -> its bytes; model.json and MANIFEST.json are written by saveArtifact itself. */
export type ArtifactContent = Readonly<Record<string, Uint8Array>>;

export interface SaveArtifactOptions {
  /**
   * Recorded in MANIFEST.json, outside the digested files, so it never changes the digest.
   * @default now
   */
  readonly createdAt?: Date;
}

/**
 * Saves the artifact into `dir` (created if needed) and returns its manifest.
 *
 * The folder must hold nothing else: SageMaker tars the whole folder, and loading refuses any
 * file the manifest does not list, so a stray file is reported here, where it is cheap to fix.
 * A previous artifact (the files its manifest lists) is replaced: its manifest is removed first
 * and the new one is written last (via a rename), so a folder with a manifest is a complete one
 * even if the process dies half way.
 */
export async function saveArtifact(dir: string, content: ArtifactContent, description: ModelDescription, options: SaveArtifactOptions = {}): Promise<Manifest> {
  checkContent(content, description);
  await mkdir(dir, { recursive: true });
  const previous = await previousArtifactFiles(dir);
  const replaceable = new Set([MODEL_ONNX_FILE, MODEL_JSON_FILE, MANIFEST_FILE, MANIFEST_TEMP, ...Object.keys(content), ...previous]);
  const strays = (await readdir(dir, { recursive: true }))
    .map((name) => name.split(path.sep).join('/'))
    .filter((name) => !replaceable.has(name) && ![...replaceable].some((file) => file.startsWith(`${name}/`)));
  if (strays.length > 0) {
    throw new Error(
      `model folder ${dir} must be empty or hold only a previous artifact, but it also holds: ${strays.sort().join(', ')}`,
    );
  }
  const files = new Map<string, Uint8Array>(Object.entries(content));
  files.set(MODEL_JSON_FILE, new TextEncoder().encode(`${JSON.stringify(description, null, 2)}\n`));
  const createdAt = (options.createdAt ?? new Date()).toISOString();
  const manifest = createManifest(Object.fromEntries([...files].map(([name, bytes]) => [name, sha256Hex(bytes)])), createdAt);
  const manifestPath = path.join(dir, MANIFEST_FILE);
  await rm(manifestPath, { force: true });
  for (const name of previous) if (!files.has(name)) await rm(path.join(dir, name), { force: true });
  for (const [name, bytes] of files) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), bytes);
  }
  const tempPath = path.join(dir, MANIFEST_TEMP);
  await writeFile(tempPath, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(tempPath, manifestPath);
  return manifest;
}

/** The files must be the model's: model.onnx, the text model's tokenizer, names that stay inside the folder. */
function checkContent(content: ArtifactContent, description: ModelDescription): void {
  for (const name of Object.keys(content)) {
    if (name === MODEL_JSON_FILE || name === MANIFEST_FILE || name === MANIFEST_TEMP) {
      throw new Error(`artifact file ${name} is written by saveArtifact itself; leave it out of the files given`);
    }
    if (name === '' || name.startsWith('/') || name.includes('\\') || name.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      throw new Error(`artifact file name ${JSON.stringify(name)} must be a relative path inside the model folder, e.g. tokenizer.json`);
    }
  }
  const tokenizer = tokenizerFile(description);
  const needed = [MODEL_ONNX_FILE, ...(tokenizer === null ? [] : [tokenizer])];
  const absent = needed.filter((name) => content[name] === undefined);
  if (absent.length > 0) throw new Error(`a ${description.algorithm} artifact needs ${absent.join(' and ')}, which the files given lack`);
}

/** The files a previous artifact's manifest lists (none when there is no readable manifest). */
async function previousArtifactFiles(dir: string): Promise<string[]> {
  try {
    return Object.keys(parseManifest(await readFile(path.join(dir, MANIFEST_FILE), 'utf8')).files);
  } catch {
    return [];
  }
}
