/**
 * A pretrained model's own tokenizer.json (and tokenizer_config.json), read by
 * @huggingface/tokenizers: whatever model it holds (GPT-2's byte-level BPE, BERT's WordPiece,
 * ...), its normalizer, pre-tokenizer and post-processor ([CLS] ... [SEP]) apply as they do in
 * transformers. `PretrainedTokenizer` shows it to the generation loop as this runtime's Tokenizer.
 */
import { Tokenizer as LibraryTokenizer } from '@huggingface/tokenizers';
import { SpecialTokens } from './special-tokens.ts';
import { TokenizerError } from './text-error.ts';
import type { Tokenizer } from './tokenizer.ts';

/** The tokenizer.json / tokenizer_config.json texts as read from the folder (config may be absent). */
export interface PretrainedTokenizerFiles {
  readonly tokenizerJson: string;
  readonly tokenizerConfigJson: string | null;
  /** The folder or file, for messages. */
  readonly source: string;
}

/** Parses and loads the files, or throws naming what is wrong with them. */
export function loadLibraryTokenizer(files: PretrainedTokenizerFiles): LibraryTokenizer {
  const parse = (text: string, what: string): object => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new TokenizerError(`${files.source}: ${what} is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TokenizerError(`${files.source}: ${what} must be a JSON object`);
    return value;
  };
  const json = parse(files.tokenizerJson, 'tokenizer.json');
  const config = files.tokenizerConfigJson === null ? {} : parse(files.tokenizerConfigJson, 'tokenizer_config.json');
  if (!('model' in json) || typeof json.model !== 'object' || json.model === null) {
    throw new TokenizerError(`${files.source}: tokenizer.json has no "model" (the vocabulary); is it a Hugging Face fast tokenizer file?`);
  }
  let tokenizer: LibraryTokenizer;
  try {
    tokenizer = new LibraryTokenizer(json, config);
    // The library builds some parts lazily: one encode and decode is the check that it loaded.
    tokenizer.decode(tokenizer.encode('Hello world').ids);
  } catch (error) {
    throw new TokenizerError(`${files.source}: tokenizer.json does not load in @huggingface/tokenizers: ${(error as Error).message}`);
  }
  return tokenizer;
}

/** Ids run from 0 to vocabSize - 1, added tokens included. */
export function libraryVocabSize(tokenizer: LibraryTokenizer): number {
  let largest = -1;
  for (const id of tokenizer.get_vocab(true).values()) largest = Math.max(largest, id);
  return largest + 1;
}

/** A pretrained byte-level BPE tokenizer (GPT-2 class) as the generation loop sees a tokenizer. */
export class PretrainedTokenizer implements Tokenizer {
  // The generation loop's Tokenizer kinds are this runtime's own; a GPT-2 class export's is byte-level BPE too.
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  readonly specialTokens: SpecialTokens;

  constructor(private readonly library: LibraryTokenizer) {
    this.vocabSize = libraryVocabSize(library);
    this.specialTokens = new SpecialTokens([...library.get_added_tokens_decoder()].filter(([, token]) => token.special).map(([id, token]) => ({ content: token.content, id })));
  }

  encode(text: string): number[] {
    return this.library.encode(text).ids;
  }

  /**
   * Without the post-processor's special tokens (a Llama's BOS): for a chat template's render,
   * which writes them itself, as transformers' apply_chat_template tokenizes it.
   */
  encodeRendered(text: string): number[] {
    return this.library.encode(text, { add_special_tokens: false }).ids;
  }

  /** Without the clean-up of spaces: a stream's text must only grow as tokens arrive. */
  decode(ids: readonly number[]): string {
    return this.library.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }
}
