/**
 * model.tar.gz as SageMaker stores a model in S3: the artifact folder's files at the archive's
 * root. Written by `modelstack train` and `modelstack package`; read back by model-source.ts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { c as createTar } from 'tar';

/** Resolves `output`, refusing a folder before any work is done (finding out afterwards wastes it). */
export async function archivePath(output: string): Promise<string> {
  const archive = path.resolve(output);
  if ((await stat(archive).catch(() => undefined))?.isDirectory()) {
    throw new Error(`--output ${output} is a folder; name the archive to write, e.g. ${path.join(output, 'model.tar.gz')}`);
  }
  return archive;
}

/** Packs the artifact folder `modelDir` into `archive`; returns the archive's SHA-256. */
export async function writeModelArchive(modelDir: string, archive: string): Promise<string> {
  await mkdir(path.dirname(archive), { recursive: true });
  await createTar({ gzip: true, file: archive, cwd: modelDir, portable: true }, (await readdir(modelDir)).sort());
  return sha256File(archive);
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file).on('data', (chunk) => hash.update(chunk)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
  });
}

/** A path relative to the working folder when it is inside it, for the lines commands print. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') ? file : relative;
}
