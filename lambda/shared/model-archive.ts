/**
 * Reads a model.tar.gz as a stream, once: hashes the whole archive, hashes every file inside it,
 * and checks those hashes against the MANIFEST.json the runtime sealed into the archive.
 *
 * Nothing is written to disk and only MANIFEST.json is held in memory, so a Lambda with little
 * memory and /tmp can verify a model of any size (bounded by its timeout: ~100 MB/s).
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import {
  ArtifactIntegrityError,
  MANIFEST_FILE,
  parseManifest,
  verifyFileHashes,
  type Manifest,
} from '../../model-runtime/src/artifact/digest.ts';

/** What one pass over the archive found; `manifest` has been checked against `files`. */
export interface ModelArchiveInspection {
  /** SHA-256 hex of the archive bytes as stored (the gzip file). */
  readonly archiveSha256: string;
  readonly sizeBytes: number;
  readonly manifest: Manifest;
  /** SHA-256 hex of every regular file in the archive except MANIFEST.json. */
  readonly files: Readonly<Record<string, string>>;
}

/** A manifest is a few hundred bytes; anything far larger is not one. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

/** Regular-file entry types; directories are skipped; anything else (links, devices) is refused. */
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/**
 * Streams `archive` through SHA-256 and a tar parser. Resolves when the archive matches its
 * manifest; rejects with ArtifactIntegrityError naming what is wrong otherwise (no manifest,
 * changed/missing/extra files, links, duplicate names, a corrupt or truncated archive).
 */
export function inspectModelArchive(archive: Readable): Promise<ModelArchiveInspection> {
  return new Promise((resolve, reject) => {
    const archiveHash = createHash('sha256');
    let sizeBytes = 0;
    const files: Record<string, string> = {};
    let manifestText: string | undefined;
    const problems: string[] = [];
    let settled = false;

    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      archive.destroy();
      reject(
        error instanceof ArtifactIntegrityError
          ? error
          : new ArtifactIntegrityError(`model.tar.gz is not a readable gzip tar archive: ${error.message}`),
      );
    };

    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        const name = entry.path.replace(/^(\.\/)+/, '');
        if (entry.type === 'Directory') {
          entry.resume();
          return;
        }
        if (!FILE_TYPES.has(entry.type)) {
          problems.push(`${name} is a ${entry.type}, not a regular file`);
          entry.resume();
          return;
        }
        if (name in files || (name === MANIFEST_FILE && manifestText !== undefined)) {
          problems.push(`${name} appears twice`);
        }
        if (name === MANIFEST_FILE) {
          if (entry.size > MAX_MANIFEST_BYTES) {
            problems.push(`${MANIFEST_FILE} is ${entry.size} bytes, more than a manifest can be`);
            entry.resume();
            return;
          }
          const chunks: Buffer[] = [];
          entry.on('data', (chunk: Buffer) => chunks.push(chunk));
          entry.on('end', () => (manifestText = Buffer.concat(chunks).toString('utf8')));
          return;
        }
        const fileHash = createHash('sha256');
        entry.on('data', (chunk: Buffer) => fileHash.update(chunk));
        entry.on('end', () => (files[name] = fileHash.digest('hex')));
      },
    });
    parser.on('error', fail);
    parser.on('end', () => {
      if (settled) return;
      try {
        if (problems.length > 0) {
          throw new ArtifactIntegrityError(`model.tar.gz is not a sealed model artifact: ${problems.join('; ')}`);
        }
        if (manifestText === undefined) {
          throw new ArtifactIntegrityError(
            `model.tar.gz holds no ${MANIFEST_FILE}; it was not written by the modelstack runtime, so it cannot be verified`,
          );
        }
        const manifest = parseManifest(manifestText);
        verifyFileHashes(manifest, files);
        settled = true;
        resolve({ archiveSha256: archiveHash.digest('hex'), sizeBytes, manifest, files });
      } catch (error) {
        fail(error as Error);
      }
    });

    // Hash the bytes exactly as stored, on their way into the parser (which gunzips them).
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        archiveHash.update(chunk);
        sizeBytes += chunk.length;
        done(null, chunk);
      },
    });
    archive.on('error', fail);
    hashing.on('error', fail);
    archive.pipe(hashing).pipe(parser);
  });
}
