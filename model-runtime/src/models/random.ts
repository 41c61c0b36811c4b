/**
 * Seeded randomness for weights and dropout masks. Everything random in training derives from
 * ModelConfig.seed through these functions, so the same seed gives the same weights, masks
 * and losses, and a run resumed at step t draws the same masks as an uninterrupted one.
 */

/** Mixes integers into a 32-bit seed (splitmix-style finaliser), e.g. (seed, step, layer). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** mulberry32: a small, fast 32-bit PRNG; returns uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n numbers uniform in [-bound, bound). */
export function uniformArray(n: number, bound: number, random: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (random() * 2 - 1) * bound;
  return out;
}
