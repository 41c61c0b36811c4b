/**
 * Explicit weight initialisation. Weights are stored PyTorch-style as (out, in) and used with
 * Gemm(x, W, b, transB=1), so y = x W^T + b; convolution kernels as (out, in, kH, kW), whose
 * fans count the kernel's taps too (torch's _calculate_fan_in_and_fan_out).
 *
 * - He (Kaiming) uniform, U(-sqrt(6 / fan_in), +sqrt(6 / fan_in)): layers followed by ReLU,
 *   keeps the activations' variance constant through ReLU layers.
 * - Glorot (Xavier) uniform, U(-sqrt(6 / (fan_in + fan_out)), +...): layers followed by tanh or
 *   sigmoid, and output layers.
 * - Zeros: biases, and the weights of the convex linear models (their optimum does not depend
 *   on the start).
 * - Ones: LayerNorm scales.
 * - Normal(0, std): GPT-2 / nanoGPT's transformer weights (std 0.02, residual projections scaled
 *   by 1 / sqrt(2 n_layer)), whatever the layout of the weight.
 */

/** n numbers uniform in [-bound, bound). */
function uniformArray(n: number, bound: number, random: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (random() * 2 - 1) * bound;
  return out;
}

/** n numbers from N(0, std^2), by Box-Muller over the seeded uniform generator. */
function normalArray(n: number, std: number, random: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - random())) * std; // 1 - u in (0, 1]: log is finite
    const angle = 2 * Math.PI * random();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < n) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

export type Init = 'he-uniform' | 'glorot-uniform' | 'zeros' | 'ones' | { readonly normal: number };

/** Initial values of an (out, in) weight, an (out, in, kH, kW) kernel or an (out) bias. */
export function initialValues(init: Init, shape: readonly number[], random: () => number): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (typeof init === 'object') {
    if (!(init.normal > 0)) throw new Error(`normal initialisation needs std > 0, got ${init.normal}`);
    return normalArray(size, init.normal, random);
  }
  const taps = shape.slice(2).reduce((a, b) => a * b, 1);
  const [fanOut, fanIn] = shape.length >= 2 ? [shape[0]! * taps, shape[1]! * taps] : [shape[0]!, 1];
  switch (init) {
    case 'zeros':
      return new Float32Array(size);
    case 'ones':
      return new Float32Array(size).fill(1);
    case 'he-uniform':
      return uniformArray(size, Math.sqrt(6 / fanIn), random);
    case 'glorot-uniform':
      return uniformArray(size, Math.sqrt(6 / (fanIn + fanOut)), random);
  }
}
