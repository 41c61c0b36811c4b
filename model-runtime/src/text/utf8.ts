/**
 * Training text must be UTF-8: a byte-level tokenizer would learn any bytes, but a file in
 * Latin-1 or UTF-16 would teach it tokens that decode to U+FFFD, so it is refused, naming the
 * first bad byte.
 */
import { readFile } from 'node:fs/promises';
import { TokenizerError } from './text-error.ts';

// Strips a leading byte order mark (file metadata, not text) and throws on any invalid sequence.
const STRICT = new TextDecoder('utf-8', { fatal: true });

/** `bytes` as text; `source` (a file name) heads the error that names the first invalid byte. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return STRICT.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8Offset(bytes);
    let line = 1;
    for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
    const shown = Array.from(bytes.subarray(offset, offset + 4), (byte) => `0x${byte.toString(16).padStart(2, '0')}`).join(' ');
    throw new TokenizerError(
      `${source}: byte offset ${offset} (line ${line}) is not valid UTF-8 (bytes ${shown}); training text must be UTF-8: re-encode the file (e.g. iconv -f latin1 -t utf-8)`,
    );
  }
}

/** A UTF-8 text file's content, refused with the file name and offset when it is not UTF-8. */
export async function readUtf8File(file: string): Promise<string> {
  return decodeUtf8(await readFile(file), file);
}

/**
 * Where the first ill-formed sequence starts (Unicode's definition, as TextDecoder applies it:
 * no overlong forms, no surrogates, nothing above U+10FFFF, no truncated sequence), or
 * bytes.length when there is none.
 */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    // The allowed range of the first continuation byte depends on the lead byte (Unicode table 3-7).
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return i;
    if (i + length > bytes.length) return i;
    const second = bytes[i + 1]!;
    if (second < low || second > high) return i;
    for (let k = 2; k < length; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    i += length;
  }
  return bytes.length;
}
