/**
 * Labelled files -> an ExampleSet: each file read and decoded (a few at a time: sharp decodes on
 * libuv's thread pool), with an error that names the file that could not be.
 */
import { readFile } from 'node:fs/promises';
import type { LabelledFile } from './class-folders.ts';
import { DataError } from './data-error.ts';
import type { ExampleSet } from './example-set.ts';

/** Files in flight at once: enough to keep the decoder's threads busy, few enough to bound memory. */
const CONCURRENCY = 8;

/**
 * @param labels the class names in id order; a file whose label is not among them is an error.
 * @param decode one file's bytes -> its `width` values; throws with the reason it cannot.
 */
export async function decodeExamples(
  channel: string,
  files: readonly LabelledFile[],
  labels: readonly string[],
  width: number,
  decode: (bytes: Uint8Array) => Promise<Float32Array> | Float32Array,
): Promise<ExampleSet> {
  const ids = new Map(labels.map((label, i) => [label, i]));
  const values = new Float32Array(files.length * width);
  const classIds = new Int32Array(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      const file = files[i]!;
      const id = ids.get(file.label);
      if (id === undefined) {
        throw new DataError(`channel ${channel}: ${file.name} is of class "${file.label}", which the training data does not have (it has ${labels.join(', ')})`);
      }
      let example: Float32Array;
      try {
        example = await decode(await readFile(file.path));
      } catch (error) {
        throw new DataError(`channel ${channel}: ${file.name}: ${(error as Error).message}`);
      }
      values.set(example, i * width);
      classIds[i] = id;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, worker));
  return { count: files.length, width, values, classIds };
}
