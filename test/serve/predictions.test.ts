import { describe, expect, it } from 'vitest';
import { shortest } from '../../model-runtime/src/serve/predictions.ts';

/** The definition shortest() computes faster: the first of 6, 7, 8 significant digits that reads back as the same float32. */
function reference(value: number): number {
  for (let digits = 6; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

describe('shortest', () => {
  it('prints a float32 as the shortest decimal that reads back as it', () => {
    expect(shortest(Math.fround(5.1))).toBe(5.1);
    expect(shortest(Math.fround(0.1))).toBe(0.1);
    expect(shortest(Math.fround(1 / 3))).toBe(0.33333334);
    expect(shortest(Math.fround(-2.5e-7))).toBe(-2.5e-7);
    expect(Object.is(shortest(-0), 0)).toBe(true);
  });

  it('agrees with the toPrecision definition across float32\'s range, at powers of ten and at ties', () => {
    const bits = new Uint32Array(1);
    const float = new Float32Array(bits.buffer);
    const values: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      bits[0] = (i * 2654435761) >>> 0; // spread over every exponent and sign
      values.push(float[0]!);
    }
    for (let exponent = -45; exponent <= 38; exponent++) {
      float[0] = Math.fround(Number(`1e${exponent}`));
      const start = bits[0]!;
      for (let step = -50; step <= 50; step++) {
        bits[0] = start + step;
        values.push(float[0]!);
      }
    }
    // 2^-10 = 0.0009765625 is a tie at 6 digits; so are other short dyadic fractions.
    for (let k = 1; k < 40; k++) values.push(2 ** -k, 3 * 2 ** -k, -(2 ** -k));
    const wrong = values.filter((value) => !Number.isNaN(value) && !Object.is(shortest(value), reference(value)));
    expect(wrong.map((value) => [value, shortest(value), reference(value)])).toEqual([]);
  });
});
