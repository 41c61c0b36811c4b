/**
 * Decoded examples of one fixed shape (an image's pixels, a clip's samples) held in memory with
 * their class ids, and the batches the training loop reads from them.
 *
 * Every epoch is a seeded permutation, and each example's augmentation in it is drawn from
 * (seed, epoch key, position): nothing random carries state from one batch to the next, so a
 * run resumed at batch b draws exactly what an uninterrupted one would have drawn.
 */
import type { Batch } from './batch.ts';
import type { BatchSource } from './batch-source.ts';
import { RANDOM_STREAM, createRandom, hash32, shuffleInPlace } from './random.ts';

export interface ExampleSet {
  readonly count: number;
  /** Values per example. */
  readonly width: number;
  /** (count, width) row-major. */
  readonly values: Float32Array;
  /** (count) class ids. */
  readonly classIds: Int32Array;
}

/** Rewrites one example (a copy: the stored one is untouched) with the draws of `random`. */
export type Augment = (example: Float32Array, random: () => number) => void;

/** The seed stream of the augmentations (the data pipeline's streams are 1-3, the weights 101). */
const AUGMENT_STREAM = 4;

export class ExampleBatchSource implements BatchSource {
  readonly rows: number;

  /**
   * @param indices which examples of `set` belong to this source, in stored order.
   * @param largestBatch cap on evaluation batches (a CNN's activations grow with the batch; the
   *   training loop asks for large ones since a tabular model's are small).
   */
  constructor(
    private readonly set: ExampleSet,
    private readonly indices: Uint32Array,
    private readonly seed: number,
    private readonly augment: Augment | null,
    private readonly largestBatch = 256,
  ) {
    this.rows = indices.length;
  }

  async *epoch(epochKey: number, batchSize: number, skip = 0): AsyncGenerator<Batch> {
    const order = Uint32Array.from(this.indices);
    shuffleInPlace(order, createRandom(hash32(this.seed, RANDOM_STREAM.epochOrder, epochKey)));
    yield* this.batchesOf(order, batchSize, skip, epochKey);
  }

  async *inOrder(batchSize: number): AsyncGenerator<Batch> {
    yield* this.batchesOf(this.indices, Math.min(batchSize, this.largestBatch), 0, null);
  }

  /** The class ids of inOrder()'s examples, in its order. */
  classIds(): Int32Array {
    return Int32Array.from(this.indices, (i) => this.set.classIds[i]!);
  }

  private *batchesOf(order: Uint32Array, batchSize: number, skip: number, epochKey: number | null): Generator<Batch> {
    const { values, width, classIds } = this.set;
    for (let start = skip * batchSize; start < order.length; start += batchSize) {
      const size = Math.min(batchSize, order.length - start);
      const x = new Float32Array(size * width);
      const y = new Float32Array(size);
      for (let i = 0; i < size; i++) {
        const index = order[start + i]!;
        const example = x.subarray(i * width, (i + 1) * width);
        example.set(values.subarray(index * width, (index + 1) * width));
        if (this.augment !== null && epochKey !== null) this.augment(example, createRandom(hash32(this.seed, AUGMENT_STREAM, epochKey, start + i)));
        y[i] = classIds[index]!;
      }
      yield { size, x, y };
    }
  }
}

/**
 * Splits examples into training and validation by seed, per class, so every class keeps about
 * `fraction` of its examples for validation (at least one when it has two or more).
 */
export function stratifiedSplit(classIds: Int32Array, fraction: number, seed: number): { train: Uint32Array; validation: Uint32Array } {
  const byClass = new Map<number, number[]>();
  classIds.forEach((id, i) => {
    const members = byClass.get(id) ?? [];
    members.push(i);
    byClass.set(id, members);
  });
  const train: number[] = [];
  const validation: number[] = [];
  for (const [id, members] of [...byClass].sort((a, b) => a[0] - b[0])) {
    shuffleInPlace(members, createRandom(hash32(seed, RANDOM_STREAM.split, id)));
    const held = fraction <= 0 || members.length < 2 ? 0 : Math.max(1, Math.round(members.length * fraction));
    validation.push(...members.slice(0, held));
    train.push(...members.slice(held));
  }
  const sorted = (list: number[]): Uint32Array => Uint32Array.from(list.sort((a, b) => a - b));
  return { train: sorted(train), validation: sorted(validation) };
}
