/**
 * tokenizer=char: one token per character (Unicode code point) of the training text, numbered in
 * code point order as nanoGPT's shakespeare_char numbers sorted(set(text)), then the special
 * tokens. Small vocabularies suit small models; a character the training text never had has no
 * id, so encoding refuses it rather than drop it.
 */
import { SpecialTokens } from './special-tokens.ts';
import { TokenizerError } from './text-error.ts';
import { checkTokenId, type Tokenizer } from './tokenizer.ts';
import { checkTrainingText } from './training-text.ts';

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char';
  readonly vocabSize: number;
  private readonly ids: ReadonlyMap<string, number>;

  /** @param chars each ordinary token's character, by id (special tokens take the ids after them) */
  constructor(
    readonly chars: readonly string[],
    readonly specialTokens: SpecialTokens,
  ) {
    this.vocabSize = chars.length + specialTokens.size;
    this.ids = new Map(chars.map((char, id) => [char, id]));
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    let offset = 0;
    for (const piece of this.specialTokens.split(text)) {
      if (piece.special) ids.push(piece.special.id);
      else {
        let at = offset;
        for (const char of piece.text) {
          const id = this.ids.get(char);
          if (id === undefined) throw unknownCharacter(char, at, this.chars.length);
          ids.push(id);
          at += char.length;
        }
      }
      offset += piece.text.length;
    }
    return ids;
  }

  decode(ids: readonly number[]): string {
    let text = '';
    for (const id of ids) {
      checkTokenId(id, this.vocabSize);
      text += this.chars[id] ?? this.specialTokens.withId(id)!.content;
    }
    return text;
  }
}

/** A char tokenizer over every character in `texts` (special tokens' text excepted). */
export function learnCharTokenizer(texts: readonly string[], specialTokens: readonly string[]): CharTokenizer {
  const probe = SpecialTokens.numbered(specialTokens, 0);
  const seen = new Set<string>();
  for (const text of texts) for (const piece of probe.split(text)) if (!piece.special) for (const char of piece.text) seen.add(char);
  checkTrainingText(texts, seen.size > 0);
  // Code point order, not UTF-16 order (which would put emoji before U+E000-U+FFFF).
  const chars = [...seen].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  return new CharTokenizer(chars, SpecialTokens.numbered(specialTokens, chars.length));
}

function unknownCharacter(char: string, offset: number, known: number): TokenizerError {
  const codePoint = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return new TokenizerError(
    `character ${JSON.stringify(char)} (${codePoint}) at offset ${offset} is not in the vocabulary: a char tokenizer knows only the ${known} characters of its training text (use tokenizer=bpe to encode any text)`,
  );
}
