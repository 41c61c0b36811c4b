/**
 * The artifact folder's file names, and reading every file in it with its hash.
 */
import { lstat, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ArtifactIntegrityError, MANIFEST_FILE, sha256Hex } from './digest.ts';

export const MODEL_ONNX_FILE = 'model.onnx';
export const MODEL_JSON_FILE = 'model.json';

export interface ArtifactFiles {
  /** Relative `/`-separated name -> bytes, MANIFEST.json excluded. */
  readonly bytes: ReadonlyMap<string, Uint8Array>;
  /** Relative name -> SHA-256 hex of those very bytes. */
  readonly hashes: Readonly<Record<string, string>>;
}

/**
 * Reads every regular file under `dir` (recursively) except MANIFEST.json. The bytes returned
 * are the ones hashed, so what is verified is exactly what gets used. A symbolic link is refused:
 * it could point anywhere, and the tarball SageMaker makes of the folder would not carry it.
 */
export async function readArtifactFiles(dir: string): Promise<ArtifactFiles> {
  const bytes = new Map<string, Uint8Array>();
  const hashes: Record<string, string> = {};
  const entries = await readdir(dir, { recursive: true });
  for (const entry of entries.sort()) {
    const full = path.join(dir, entry);
    const name = entry.split(path.sep).join('/');
    const info = await lstat(full);
    if (info.isDirectory()) continue;
    if (!info.isFile()) {
      throw new ArtifactIntegrityError(`model artifact holds ${name}, which is not a regular file`, [], [], [name]);
    }
    if (name === MANIFEST_FILE) continue;
    const content = new Uint8Array(await readFile(full));
    bytes.set(name, content);
    hashes[name] = sha256Hex(content);
  }
  return { bytes, hashes };
}
