/**
 * Seeded randomness for the data pipeline. Everything random in training (the validation split,
 * the folds, the order of rows in each epoch) is a pure function of the seed and a position, so
 * a resumed run only needs (seed, fold, epoch, batch) to continue exactly where it stopped: there
 * is no generator state to save.
 */

/** SplitMix32-style integer hash of up to four 32-bit words; well mixed, not cryptographic. */
export function hash32(a: number, b = 0, c = 0, d = 0): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  for (const word of [b, c, d]) {
    h = Math.imul(h ^ (h >>> 16) ^ word, 0xc2b2ae35);
    h ^= h >>> 13;
    h = Math.imul(h, 0x27d4eb2f);
  }
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) determined by the seed and a row index. */
export function uniformAt(seed: number, stream: number, index: number): number {
  return hash32(seed, stream, Math.floor(index / 2 ** 32), index >>> 0) / 2 ** 32;
}

/** Mulberry32: a small, fast generator with a 32-bit state, for shuffles. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Fisher-Yates in place. */
export function shuffleInPlace<T>(items: T[] | Uint32Array, random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
}

/** Streams (salts) that keep the uses of one seed independent of each other. */
export const RANDOM_STREAM = { split: 1, epochOrder: 2, fileOrder: 3 } as const;
