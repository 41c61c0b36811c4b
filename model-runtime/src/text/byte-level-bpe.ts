/**
 * Byte-level BPE as GPT-2 runs it: the text is cut into pre-tokens (byte-level.ts), each
 * pre-token becomes its UTF-8 bytes, and the learned merges join adjacent tokens, earliest
 * learned first, until none applies. Every byte is a token, so any text encodes and every
 * encoding decodes back to the text it came from.
 *
 * This is the runtime's own encoder, written apart from @huggingface/tokenizers' (which works on
 * byte-level strings with a priority queue) so that the parity tests compare two implementations.
 */
import { preTokenize } from './byte-level.ts';
import type { SpecialTokens } from './special-tokens.ts';
import { checkTokenId, MAX_VOCAB_SIZE, type Tokenizer } from './tokenizer.ts';

/** Adjacent tokens `left`, `right` become `result`; a merge's rank is its place in the list. */
export interface BytePairMerge {
  readonly left: number;
  readonly right: number;
  readonly result: number;
}

export function pairKey(left: number, right: number): number {
  return left * MAX_VOCAB_SIZE + right;
}

/** `symbols` with every occurrence of the merge's pair, left to right, replaced by its result. */
export function applyMerge(symbols: readonly number[], { left, right, result }: BytePairMerge): number[] {
  const merged: number[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (symbols[i] === left && symbols[i + 1] === right) {
      merged.push(result);
      i++;
    } else merged.push(symbols[i]!);
  }
  return merged;
}

const UTF8 = new TextEncoder();
// As the library's ByteLevel decoder: invalid sequences (an id list cut inside a character)
// become U+FFFD, and a leading U+FEFF is text, kept.
const LENIENT = new TextDecoder('utf-8', { ignoreBOM: true });

/** Pre-tokens repeat (" the"); their encodings are kept, up to a bound so serving memory stays flat. */
const WORD_CACHE_LIMIT = 1 << 16;

export class ByteLevelBpe implements Tokenizer {
  readonly kind = 'bpe';
  readonly vocabSize: number;
  private readonly rank = new Map<number, number>();
  private readonly cache = new Map<string, readonly number[]>();

  /**
   * @param tokenBytes the bytes of each ordinary token by id (undefined at special tokens' ids)
   * @param byteIds the id of each single-byte token, by byte value
   * @param merges in the order they were learned
   */
  constructor(
    readonly tokenBytes: readonly (Uint8Array | undefined)[],
    readonly byteIds: readonly number[],
    readonly merges: readonly BytePairMerge[],
    readonly specialTokens: SpecialTokens,
  ) {
    this.vocabSize = tokenBytes.length;
    merges.forEach((merge, rank) => {
      const key = pairKey(merge.left, merge.right);
      if (!this.rank.has(key)) this.rank.set(key, rank);
    });
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const piece of this.specialTokens.split(text)) {
      if (piece.special) {
        ids.push(piece.special.id);
        continue;
      }
      for (const word of preTokenize(piece.text)) for (const id of this.encodeWord(word)) ids.push(id);
    }
    return ids;
  }

  decode(ids: readonly number[]): string {
    let text = '';
    let bytes: number[] = [];
    for (const id of ids) {
      checkTokenId(id, this.vocabSize);
      const special = this.specialTokens.withId(id);
      if (special) {
        // The library decodes the bytes before a special token on their own, so a character cut
        // by one becomes U+FFFD here as there.
        text += LENIENT.decode(Uint8Array.from(bytes)) + special.content;
        bytes = [];
      } else {
        for (const byte of this.tokenBytes[id]!) bytes.push(byte);
      }
    }
    return text + LENIENT.decode(Uint8Array.from(bytes));
  }

  /** GPT-2's bpe(): merge the adjacent pair of lowest rank, every occurrence left to right, until no pair has one. */
  private encodeWord(word: string): readonly number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let symbols = Array.from(UTF8.encode(word), (byte) => this.byteIds[byte]!);
    while (symbols.length > 1) {
      let best = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.rank.get(pairKey(symbols[i]!, symbols[i + 1]!));
        if (rank !== undefined && rank < best) best = rank;
      }
      if (best === Infinity) break;
      symbols = applyMerge(symbols, this.merges[best]!);
    }
    if (this.cache.size >= WORD_CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, symbols);
    return symbols;
  }
}
