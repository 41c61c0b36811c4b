// Number rules shared by contract/ (hyperparameters), data/ (table cells) and serve/ (request
// rows); a leaf module so none of them imports another's layer for them.

/**
 * Strict decimal or exponent notation. `Number()` alone is too lenient for input checking:
 * `Number('')` is 0, `Number(' ')` is 0 and `Number('0x10')` is 16.
 */
const DECIMAL = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** The finite number the text spells, or undefined. */
export function parseDecimal(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * model.onnx reads float32 (artifact/model-description.ts): a value beyond this magnitude becomes
 * Infinity there and the prediction NaN, so data and requests refuse it up front.
 */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** The expectation a message states for a value beyond FLOAT32_MAX. */
export const FLOAT32_RANGE = 'magnitude at most 3.4e38';

export function fitsFloat32(value: number): boolean {
  return Math.abs(value) <= FLOAT32_MAX;
}
