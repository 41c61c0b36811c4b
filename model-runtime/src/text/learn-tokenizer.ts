/**
 * The tokenizer a run learns from its training text: tokenizer=bpe (byte-level BPE to
 * vocab_size tokens) or tokenizer=char (one token per character).
 */
import { learnByteLevelBpe } from './bpe-trainer.ts';
import { learnCharTokenizer } from './char-tokenizer.ts';
import { END_OF_TEXT } from './special-tokens.ts';
import type { Tokenizer } from './tokenizer.ts';

export type TokenizerSettings =
  | {
      readonly kind: 'bpe';
      /** Tokens in all, special tokens included; training may end short of it (see minFrequency). */
      readonly vocabSize: number;
      /** @default 2 */
      readonly minFrequency?: number;
      /** @default DEFAULT_SPECIAL_TOKENS */
      readonly specialTokens?: readonly string[];
    }
  | {
      readonly kind: 'char';
      /** @default DEFAULT_SPECIAL_TOKENS */
      readonly specialTokens?: readonly string[];
    };

/** GPT-2's one special token: it separates documents in training and ends a generation. */
export const DEFAULT_SPECIAL_TOKENS: readonly string[] = [END_OF_TEXT];

/** `texts`: the training documents (files, or records of a JSON Lines file). */
export function learnTokenizer(texts: readonly string[], settings: TokenizerSettings): Tokenizer {
  const specialTokens = settings.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
  if (settings.kind === 'char') return learnCharTokenizer(texts, specialTokens);
  return learnByteLevelBpe(texts, { vocabSize: settings.vocabSize, minFrequency: settings.minFrequency, specialTokens });
}
