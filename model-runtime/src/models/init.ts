/**
 * Explicit weight initialisation. Weights are stored PyTorch-style as (out, in) and used with
 * Gemm(x, W, b, transB=1), so y = x W^T + b.
 *
 * - He (Kaiming) uniform, U(-sqrt(6 / fan_in), +sqrt(6 / fan_in)): layers followed by ReLU,
 *   keeps the activations' variance constant through ReLU layers.
 * - Glorot (Xavier) uniform, U(-sqrt(6 / (fan_in + fan_out)), +...): layers followed by tanh or
 *   sigmoid, and output layers.
 * - Zeros: biases, and the weights of the convex linear models (their optimum does not depend
 *   on the start).
 */

/** n numbers uniform in [-bound, bound). */
function uniformArray(n: number, bound: number, random: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (random() * 2 - 1) * bound;
  return out;
}

export type Init = 'he-uniform' | 'glorot-uniform' | 'zeros';

/** Initial values of an (out, in) weight or an (out) bias. */
export function initialValues(init: Init, shape: readonly number[], random: () => number): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const [fanOut, fanIn] = shape.length === 2 ? [shape[0]!, shape[1]!] : [shape[0]!, 1];
  switch (init) {
    case 'zeros':
      return new Float32Array(size);
    case 'he-uniform':
      return uniformArray(size, Math.sqrt(6 / fanIn), random);
    case 'glorot-uniform':
      return uniformArray(size, Math.sqrt(6 / (fanIn + fanOut)), random);
  }
}
