/**
 * Real model.tar.gz archives for the seal tests, built with the `tar` package exactly as
 * SageMaker tars /opt/ml/model, and served as the body stream of a mocked GetObject.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { create } from 'tar';
import { createManifest, sha256Hex, MANIFEST_FILE } from '../../model-runtime/src/artifact/digest.ts';

export type ArchiveFiles = Record<string, Uint8Array | string>;

/** The files of a small sealed artifact: model.onnx, model.json and a matching MANIFEST.json. */
export function sealedFiles(modelJson: object = { format: 'modelstack/1', algorithm: 'linear-regression' }): ArchiveFiles {
  const files: ArchiveFiles = {
    'model.onnx': new Uint8Array(Array.from({ length: 4096 }, (_, index) => (index * 31) % 256)),
    'model.json': `${JSON.stringify(modelJson)}\n`,
  };
  return { ...files, [MANIFEST_FILE]: manifestFor(files) };
}

/** MANIFEST.json text for `files`. */
export function manifestFor(files: ArchiveFiles): string {
  const hashes = Object.fromEntries(
    Object.entries(files).map(([name, bytes]) => [name, sha256Hex(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes)]),
  );
  return `${JSON.stringify(createManifest(hashes), null, 2)}\n`;
}

/** A gzip tar of `files` (paths as `./name`, like `tar -czf model.tar.gz -C /opt/ml/model .`). */
export async function tarGz(files: ArchiveFiles): Promise<Buffer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'modelstack-archive-'));
  try {
    for (const [name, bytes] of Object.entries(files)) await writeFile(path.join(dir, name), bytes);
    const chunks: Buffer[] = [];
    const stream = create({ gzip: true, cwd: dir, portable: true }, Object.keys(files).map((name) => `./${name}`));
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A GetObject body: a real Node stream over the bytes, in small chunks as S3 delivers them. */
export function bodyStream(bytes: Buffer): Readable {
  const chunkSize = 1000;
  return Readable.from(Array.from({ length: Math.ceil(bytes.length / chunkSize) }, (_, index) => bytes.subarray(index * chunkSize, (index + 1) * chunkSize)));
}
