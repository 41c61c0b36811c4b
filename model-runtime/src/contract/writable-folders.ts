/**
 * Training writes model/, output/ and checkpoints/. SageMaker mounts /opt/ml writable for the
 * container's user (root); a local run as another user, or a file where a folder belongs, used
 * to train a whole epoch and then fail on the first checkpoint. Check before any work is done.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RuntimePaths } from './paths.ts';

export class FolderNotWritableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FolderNotWritableError';
  }
}

/**
 * Checks this process can write model/, output/ and checkpoints/, or create them where they do
 * not exist yet (nothing is created: a run that fails later leaves no empty model/ behind).
 */
export async function ensureWritableFolders(paths: RuntimePaths): Promise<void> {
  const problems: string[] = [];
  for (const folder of [paths.model, paths.output, paths.checkpoints]) {
    const problem = await writableProblem(folder);
    if (problem !== undefined) problems.push(`${path.relative(paths.root, folder)}/ (${folder}) ${problem}`);
  }
  if (problems.length > 0) {
    throw new FolderNotWritableError(`cannot write the training job's folders: ${problems.join('; ')}. ` +
      `SageMaker runs the container as root with /opt/ml writable; locally, run as a user who can write them ` +
      `(e.g. chown -R ${userName() ?? `$(id -u)`} ${paths.root}, or docker run --user root)`);
  }
}

async function writableProblem(folder: string): Promise<string | undefined> {
  // The folder, or where it would be created: its nearest existing ancestor.
  let existing = folder;
  for (;;) {
    const info = await stat(existing).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : Promise.reject(error)));
    if (info !== null) {
      if (!info.isDirectory()) return existing === folder ? 'is a file, not a folder' : `cannot be created: ${existing} is a file`;
      break;
    }
    const parent = path.dirname(existing);
    if (parent === existing) return 'cannot be created: no folder above it exists';
    existing = parent;
  }
  try {
    await access(existing, constants.W_OK);
    return undefined;
  } catch {
    return existing === folder ? `is not writable by ${currentUser()}` : `cannot be created: ${existing} is not writable by ${currentUser()}`;
  }
}

/** This process's user name; undefined for a uid without a passwd entry (common in containers). */
function userName(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
}

function currentUser(): string {
  const uid = process.getuid?.() ?? '?';
  const name = userName();
  return name === undefined ? `uid ${uid}` : `${name} (uid ${uid})`;
}
