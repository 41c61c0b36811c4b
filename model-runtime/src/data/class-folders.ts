/**
 * Labelled files of a channel in the layout SageMaker's image classification reads:
 *
 *   one folder per class        train/cat/001.png, train/dog/a.jpg ... (the folder name is the label)
 *   or a JSON Lines manifest    train/train.manifest (or .jsonl) with lines
 *                               {"source-ref": "images/001.png", "class": "cat"}, paths relative to the channel
 *
 * Files are listed in name order, so the order (and with the seed, every split and shuffle) is
 * the same on every machine. Hidden files (.DS_Store) are skipped; any other file whose
 * extension the family does not read is an error that names it.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DataError } from './data-error.ts';

export interface LabelledFile {
  readonly path: string;
  /** Relative to the channel folder, for messages. */
  readonly name: string;
  readonly label: string;
}

export interface ClassFiles {
  readonly files: readonly LabelledFile[];
  /** The distinct labels, sorted. */
  readonly labels: readonly string[];
}

const MANIFEST_EXTENSIONS = ['.manifest', '.jsonl', '.jsonlines'];

/**
 * @param extensions the example files' extensions, lower case with the dot ('.png', '.wav').
 * @param what the examples' name for messages ('images', 'WAV files').
 * @returns null when the channel folder does not exist.
 */
export async function listClassFiles(dir: string, channel: string, extensions: readonly string[], what: string): Promise<ClassFiles | null> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { recursive: true })).map((name) => name.split(path.sep).join('/'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const visible = entries.filter((name) => !name.split('/').some((part) => part.startsWith('.'))).sort();
  const manifests = visible.filter((name) => !name.includes('/') && MANIFEST_EXTENSIONS.includes(path.extname(name).toLowerCase()));
  const files = manifests.length > 0 ? await readManifests(dir, channel, manifests, extensions) : await classFolders(dir, channel, visible, extensions, what);
  if (files.length === 0) {
    throw new DataError(
      `channel ${channel} holds no ${what}: put one folder per class of ${extensions.join(' / ')} files in it (e.g. ${channel}/cat/1${extensions[0]}), or a .manifest of {"source-ref": "...", "class": "..."} lines`,
    );
  }
  const labels = [...new Set(files.map((f) => f.label))].sort();
  return { files, labels };
}

async function classFolders(dir: string, channel: string, names: readonly string[], extensions: readonly string[], what: string): Promise<LabelledFile[]> {
  const files: LabelledFile[] = [];
  for (const name of names) {
    const full = path.join(dir, name);
    if (!(await stat(full)).isFile()) continue;
    const parts = name.split('/');
    if (parts.length < 2) {
      throw new DataError(`channel ${channel}: ${name} lies outside any class folder; put each of the ${what} in the folder of its class (e.g. ${channel}/<class>/${name})`);
    }
    if (!extensions.includes(path.extname(name).toLowerCase())) {
      throw new DataError(`channel ${channel}: ${name} is not one of the ${what} this algorithm reads (${extensions.join(', ')})`);
    }
    files.push({ path: full, name, label: parts[0]! });
  }
  return files;
}

async function readManifests(dir: string, channel: string, manifests: readonly string[], extensions: readonly string[]): Promise<LabelledFile[]> {
  const files: LabelledFile[] = [];
  for (const manifest of manifests) {
    const lines = (await readFile(path.join(dir, manifest), 'utf8')).split('\n');
    lines.forEach((text, index) => {
      if (text.trim() === '') return;
      const at = (problem: string): DataError => DataError.at(`${channel}/${manifest}`, index + 1, problem);
      let entry: unknown;
      try {
        entry = JSON.parse(text);
      } catch (error) {
        throw at(`not valid JSON (${(error as Error).message})`);
      }
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw at('expected an object {"source-ref": "path", "class": "label"}');
      const { 'source-ref': source, class: label } = entry as Record<string, unknown>;
      if (typeof source !== 'string' || source === '') throw at('"source-ref" must be the path of a file, relative to the channel folder');
      if (source.includes('://')) throw at(`"source-ref" ${source} is a URL; this runtime reads the channel's files, so give a path relative to the channel folder`);
      if (typeof label !== 'string' && typeof label !== 'number') throw at('"class" must be the label, a string or a number');
      const resolved = path.resolve(dir, source);
      if (path.relative(dir, resolved).startsWith('..')) throw at(`"source-ref" ${source} points outside the channel folder`);
      if (!extensions.includes(path.extname(source).toLowerCase())) throw at(`"source-ref" ${source} is not one of ${extensions.join(', ')}`);
      files.push({ path: resolved, name: source, label: String(label) });
    });
  }
  return files;
}
