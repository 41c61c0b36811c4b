/**
 * Dropout whose mask is a pure function of (seed, step, site, element position), so a run
 * resumed at step s draws exactly the masks the uninterrupted run drew at step s.
 *
 * ONNX's Dropout and RandomUniform take their seed as an attribute, fixed when the graph is
 * built: every step would draw the same mask, or an unseeded generator would draw masks that a
 * resume cannot reproduce. Instead the graph hashes integers it is fed: the run's seed and the
 * step are int64 scalar inputs, `site` tells the dropout layers of one graph apart, and each
 * element's flat index picks its own hash value. The hash is the 32-bit integer mixer
 * h ^= h >> 16; h *= 0x45d9f3b (twice, then a last xor-shift) kept to 31 bits, so every product
 * stays below 2^58 and int64 arithmetic in ONNX Runtime is exact on every platform. Each step
 * of the mixer is a bijection on [0, 2^31), so distinct positions never share a hash value.
 */
import type { GraphBuilder } from './builder.ts';
import type { Value } from './types.ts';

const LOW_31_BITS = 0x7fffffff;
const MULTIPLIER = 0x45d9f3b;
const TWO_POW_31 = 2 ** 31;

/** The 31-bit integer mixer over an int64 tensor of values in [0, 2^31). */
function mix(g: GraphBuilder, h: Value): Value {
  const int = (v: number): Value => g.scalar(v, 'int64');
  const xorShift = (v: Value): Value => g.bitwiseXor(v, g.div(v, int(65536)));
  const multiply = (v: Value): Value => g.bitwiseAnd(g.mul(v, int(MULTIPLIER)), int(LOW_31_BITS));
  return xorShift(multiply(xorShift(multiply(xorShift(h)))));
}

/**
 * The per-step key every dropout layer of the graph derives its mask from: int64 scalars
 * `seed` (fixed for the run) and `step` (fed each step). Any int64 is fine; only the low 31
 * bits of each count.
 */
export function dropoutKey(g: GraphBuilder, seed: Value, step: Value): Value {
  for (const [role, v] of [['seed', seed], ['step', step]] as const) {
    if (v.dtype !== 'int64' || v.shape.length !== 0) throw new Error(`dropoutKey: ${role} must be an int64 scalar, got ${v.dtype} (${v.shape.join(', ')})`);
  }
  const low = (v: Value): Value => g.bitwiseAnd(v, g.scalar(LOW_31_BITS, 'int64'));
  return mix(g, g.bitwiseXor(mix(g, low(seed)), low(step)));
}

/**
 * Inverted dropout: each element of `x` is zeroed with probability `rate` and the rest scaled
 * by 1 / (1 - rate), as torch.nn.Dropout in training mode. `site` (a small integer, distinct
 * per dropout layer of the graph) keeps the layers' masks independent. Rate 0 is the identity
 * (inference graphs pass 0 and need no key).
 */
export function dropout(g: GraphBuilder, x: Value, rate: number, key: Value | null, site: number): Value {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate must be in [0, 1), got ${rate}`);
  if (rate === 0) return x;
  if (key === null) throw new Error('dropout: a rate above 0 needs the key from dropoutKey(seed, step)');
  if (!Number.isInteger(site) || site < 0 || site > LOW_31_BITS) throw new Error(`dropout: site must be an integer in [0, 2^31), got ${site}`);
  const siteKey = mix(g, g.bitwiseXor(key, g.scalar(site, 'int64')));
  const positions = g.reshapeLike(g.range(g.sizeOfInt(x)), x);
  const hash = mix(g, g.bitwiseXor(positions, siteKey));
  const dropped = g.less(hash, g.scalar(Math.floor(rate * TWO_POW_31), 'int64'));
  return g.where(dropped, g.scalar(0, x.dtype), g.mul(x, g.scalar(1 / (1 - rate), x.dtype)));
}
