/**
 * The special token ids config.json and generation_config.json carry, read as transformers reads
 * them: `bos_token_id` one id or null; `eos_token_id` one id, a list of ids (Llama 3's
 * [128001, 128009], Qwen's, Gemma's: generation ends on any of them) or null. An id must be a
 * token the model can produce, below vocab_size, or it could never end anything.
 */

function checkId(value: unknown, key: string, source: string, vocabSize: number, allowed: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= vocabSize) {
    throw new Error(`${source}: ${key} must be ${allowed} (token ids 0 to ${vocabSize - 1}, below vocab_size ${vocabSize}), got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * eos_token_id: an integer or a list of integers (an empty list: none), duplicates dropped; null
 * when the file leaves it out or says null (transformers' None: not set).
 */
export function eosTokenIds(record: Readonly<Record<string, unknown>>, source: string, vocabSize: number): readonly number[] | null {
  const value = record.eos_token_id;
  if (value === undefined || value === null) return null;
  const allowed = 'a token id, a list of token ids or null';
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  const ids = list.map((v) => checkId(v, 'eos_token_id', source, vocabSize, allowed));
  return [...new Set(ids)];
}

/** bos_token_id: one integer, or null / absent (not set). */
export function bosTokenId(record: Readonly<Record<string, unknown>>, source: string, vocabSize: number): number | null {
  const value = record.bos_token_id;
  if (value === undefined || value === null) return null;
  return checkId(value, 'bos_token_id', source, vocabSize, 'a token id or null');
}
