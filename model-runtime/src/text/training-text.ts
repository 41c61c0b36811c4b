/** What both tokenizers' training asks of the text they learn from. */
import { TokenizerError } from './text-error.ts';

/** Refuses training text with nothing to learn from; `hasText`: some character outside special tokens. */
export function checkTrainingText(texts: readonly string[], hasText: boolean): void {
  if (hasText) return;
  const what = texts.length === 0 ? 'no documents' : `${texts.length} document${texts.length === 1 ? '' : 's'} with no text outside special tokens`;
  throw new TokenizerError(`the training text is empty (${what}); a tokenizer is learned from the training text, so give it some text`);
}
