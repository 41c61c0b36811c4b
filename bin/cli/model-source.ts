/**
 * Where `modelstack serve` finds a model: a model.tar.gz (as SageMaker stores it in S3) is
 * extracted to a temporary folder; a folder is used as it is.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { x as extractTar } from 'tar';

export interface ModelFolder {
  readonly dir: string;
  /** The archive `dir` was extracted from; null for a folder given directly. */
  readonly archive: string | null;
  /** Removes what was extracted; a no-op for a folder given directly. */
  cleanup(): Promise<void>;
}

export async function openModel(source: string): Promise<ModelFolder> {
  const resolved = path.resolve(source);
  const info = await stat(resolved).catch(() => undefined);
  if (info === undefined) {
    throw new Error(`model ${source} does not exist; pass a model.tar.gz written by \`modelstack train\` or a model folder`);
  }
  if (info.isDirectory()) return { dir: resolved, archive: null, cleanup: async () => undefined };
  if (!/\.(tar\.gz|tgz|tar)$/.test(resolved)) {
    throw new Error(`model ${source} is neither a folder nor a .tar.gz archive`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'modelstack-model-'));
  try {
    await extractTar({ file: resolved, cwd: dir, strict: true });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`could not extract ${source}: ${(error as Error).message}`);
  }
  return { dir, archive: resolved, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
