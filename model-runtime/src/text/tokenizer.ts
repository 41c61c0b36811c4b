/**
 * What training and serving see of a tokenizer: text to ids and back, the same ids
 * @huggingface/tokenizers gives for the tokenizer.json written from it (tokenizer-json.ts).
 */
import type { SpecialTokens } from './special-tokens.ts';
import { TokenizerError } from './text-error.ts';

/** `bpe`: byte-level BPE learned to a vocab_size; `char`: one token per character of the training text. */
export type TokenizerKind = 'bpe' | 'char';

export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** Ids run from 0 to vocabSize - 1: the size of the model's embedding and output layers. */
  readonly vocabSize: number;
  readonly specialTokens: SpecialTokens;
  encode(text: string): number[];
  /** Special tokens decode to their own text, as in the library's decode without skip_special_tokens. */
  decode(ids: readonly number[]): string;
}

/** The largest vocabulary either tokenizer holds; it also bounds the pair keys of byte-level BPE. */
export const MAX_VOCAB_SIZE = 1 << 20;

export function checkTokenId(id: number, vocabSize: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new TokenizerError(`token id ${id} is not in the vocabulary; expected a whole number from 0 to ${vocabSize - 1}`);
  }
}
