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
