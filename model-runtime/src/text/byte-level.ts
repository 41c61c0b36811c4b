/**
 * GPT-2's byte-level alphabet and pre-tokenizer, shared by the trainer and the encoder so that
 * both cut text the same way @huggingface/tokenizers' ByteLevel pre-tokenizer does.
 */

/**
 * GPT-2's pre-tokenizer: contractions, letters, digits and other symbols (each optionally led by
 * one space), and runs of whitespace. BPE merges never cross these boundaries. This is the exact
 * pattern @huggingface/tokenizers 0.2.0 compiles for ByteLevel with use_regex (a test holds the
 * two equal): JavaScript's \s differs slightly from the Rust crate's Oniguruma \s (U+FEFF,
 * U+0085), and parity with the JS library is what this runtime promises.
 */
export const PRE_TOKENIZER_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The pre-tokens of a text; together they spell it exactly (every code point matches one branch). */
export function preTokenize(text: string): string[] {
  return text.match(PRE_TOKENIZER_PATTERN) ?? [];
}

/**
 * GPT-2's bytes_to_unicode: each byte as one printable character, so a byte sequence can be
 * written as a string in tokenizer.json. Printable Latin-1 bytes stand for themselves; the other
 * 68 (controls, space, soft hyphen) map in byte order to U+0100 onwards, so space is 'Ġ' (U+0120).
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (byte: number) => (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  const chars: string[] = [];
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) chars.push(String.fromCharCode(printable(byte) ? byte : 256 + shifted++));
  return chars;
})();

const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((char, byte) => [char, byte]));

/** The bytes a byte-level token string stands for, or undefined when a character is outside the alphabet. */
export function bytesOfByteLevelToken(token: string): Uint8Array | undefined {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const byte = CHAR_TO_BYTE.get(token[i]!);
    if (byte === undefined) return undefined;
    bytes[i] = byte;
  }
  return bytes;
}

/** A byte sequence in the byte-level alphabet (the form of tokenizer.json's vocab and merges). */
export function byteLevelToken(bytes: Uint8Array): string {
  let token = '';
  for (const byte of bytes) token += BYTE_TO_CHAR[byte];
  return token;
}
