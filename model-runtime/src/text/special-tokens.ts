/**
 * Special tokens (such as <|endoftext|>): strings that always encode to their own id, never to
 * the pieces of their spelling. @huggingface/tokenizers splits the text on them first (its
 * added-token splitter: at each position the longest special token that starts there), so both
 * tokenizers here do the same, in training too, so that no merge learns across a document boundary.
 */
import { TokenizerError } from './text-error.ts';

export const END_OF_TEXT = '<|endoftext|>';

export interface SpecialToken {
  readonly content: string;
  readonly id: number;
}

/** A text cut into ordinary sections and special tokens, in order. */
export type TextPiece = { readonly text: string; readonly special?: undefined } | { readonly text: string; readonly special: SpecialToken };

export class SpecialTokens {
  readonly tokens: readonly SpecialToken[];
  private readonly byContent: ReadonlyMap<string, SpecialToken>;
  private readonly byId: ReadonlyMap<number, SpecialToken>;
  // Alternatives longest first: a JavaScript alternation takes the first that matches, which is
  // then the longest special token starting at the leftmost position, as the library's trie does.
  private readonly pattern: RegExp | undefined;

  constructor(tokens: readonly SpecialToken[]) {
    this.tokens = tokens;
    this.byContent = new Map(tokens.map((token) => [token.content, token]));
    this.byId = new Map(tokens.map((token) => [token.id, token]));
    const longestFirst = [...tokens].sort((a, b) => b.content.length - a.content.length);
    this.pattern = tokens.length === 0 ? undefined : new RegExp(longestFirst.map((token) => escapeRegExp(token.content)).join('|'), 'gu');
  }

  /** Special tokens named `contents` with ids from `firstId` on, after checking the names. */
  static numbered(contents: readonly string[], firstId: number): SpecialTokens {
    checkSpecialTokenNames(contents);
    return new SpecialTokens(contents.map((content, i) => ({ content, id: firstId + i })));
  }

  get size(): number {
    return this.tokens.length;
  }

  withContent(content: string): SpecialToken | undefined {
    return this.byContent.get(content);
  }

  withId(id: number): SpecialToken | undefined {
    return this.byId.get(id);
  }

  /** `text` as ordinary sections (never empty) and the special tokens between them. */
  split(text: string): TextPiece[] {
    if (this.pattern === undefined) return text === '' ? [] : [{ text }];
    const pieces: TextPiece[] = [];
    let start = 0;
    for (const match of text.matchAll(this.pattern)) {
      if (match.index > start) pieces.push({ text: text.slice(start, match.index) });
      pieces.push({ text: match[0], special: this.byContent.get(match[0])! });
      start = match.index + match[0].length;
    }
    if (start < text.length) pieces.push({ text: text.slice(start) });
    return pieces;
  }
}

function checkSpecialTokenNames(contents: readonly string[]): void {
  const seen = new Set<string>();
  for (const content of contents) {
    if (content === '') throw new TokenizerError('a special token is the empty string; give each special token some text, e.g. <|endoftext|>');
    if (seen.has(content)) throw new TokenizerError(`special token ${JSON.stringify(content)} is listed twice; list each once`);
    seen.add(content);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
