/**
 * Learning byte-level BPE from training text, as GPT-2's tokenizer was learned: count the
 * pre-tokens, start every pre-token as its bytes, and repeatedly merge the adjacent pair of
 * tokens seen most often, until the vocabulary holds vocabSize tokens (the 256 bytes, one per
 * merge, and the special tokens) or no pair is seen minFrequency times.
 *
 * Counting runs once; after that each merge touches only the distinct pre-tokens that contain
 * its pair (where[pair]) and updates the pair counts incrementally, which keeps a few MB of
 * text to seconds (bench/tokenizer/bpe-training.ts measures it).
 */
import { byteLevelToken, preTokenize } from './byte-level.ts';
import { applyMerge, ByteLevelBpe, pairKey, type BytePairMerge } from './byte-level-bpe.ts';
import { PairHeap } from './pair-heap.ts';
import { SpecialTokens } from './special-tokens.ts';
import { TokenizerError } from './text-error.ts';
import { MAX_VOCAB_SIZE } from './tokenizer.ts';
import { checkTrainingText } from './training-text.ts';

export interface BpeTrainingSettings {
  /** Tokens in all: 256 bytes + learned merges + special tokens. An upper bound: see minFrequency. */
  readonly vocabSize: number;
  /** Given the last ids, in this order. */
  readonly specialTokens: readonly string[];
  /** A pair seen fewer times than this is not merged (training ends short of vocabSize): merging a pair seen once memorises the text. @default 2 */
  readonly minFrequency?: number;
}

const UTF8 = new TextEncoder();

export function learnByteLevelBpe(texts: readonly string[], settings: BpeTrainingSettings): ByteLevelBpe {
  const { vocabSize, specialTokens } = settings;
  const minFrequency = settings.minFrequency ?? 2;
  checkVocabSize(vocabSize, specialTokens);
  if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new TokenizerError(`minFrequency must be a whole number >= 1; got ${minFrequency}`);
  const splitter = SpecialTokens.numbered(specialTokens, 0);

  // Each distinct pre-token once, with how often it occurs.
  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    for (const piece of splitter.split(text)) {
      if (piece.special) continue;
      for (const word of preTokenize(piece.text)) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
    }
  }
  checkTrainingText(texts, wordCounts.size > 0);
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [word, count] of wordCounts) {
    words.push(Array.from(UTF8.encode(word)));
    counts.push(count);
  }

  // How often each adjacent pair occurs, and which words hold it (a list that may go stale,
  // never incomplete: a word is added whenever it gains a pair).
  const pairCounts = new Map<number, number>();
  const where = new Map<number, number[]>();
  const addPair = (key: number, delta: number) => {
    const count = (pairCounts.get(key) ?? 0) + delta;
    if (count === 0) pairCounts.delete(key);
    else pairCounts.set(key, count);
  };
  const noteWord = (key: number, w: number) => {
    const list = where.get(key);
    if (!list) where.set(key, [w]);
    else if (list[list.length - 1] !== w) list.push(w);
  };
  words.forEach((symbols, w) => {
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i]!, symbols[i + 1]!);
      addPair(key, counts[w]!);
      noteWord(key, w);
    }
  });
  const queue = new PairHeap();
  for (const [key, count] of pairCounts) queue.push(count, key);

  // Ids 0-255 are the bytes themselves; merges take the next ids, special tokens the last.
  const tokenBytes: Uint8Array[] = Array.from({ length: 256 }, (_, byte) => Uint8Array.of(byte));
  const idOfToken = new Map(tokenBytes.map((bytes, id) => [byteLevelToken(bytes), id]));
  const merges: BytePairMerge[] = [];
  const visited = new Int32Array(words.length).fill(-1);
  const target = vocabSize - specialTokens.length;
  // Pairs whose merge would spell a token that already exists ("a"+"bc" after "ab"+"c"): never
  // merged, so every merge makes a new token and only later merges use it. Both encoders rely on
  // that (tokenizer-json.ts checks it of every tokenizer.json it reads).
  const respelled = new Set<number>();
  while (tokenBytes.length < target && queue.size > 0) {
    const { count, key } = queue.pop();
    if (respelled.has(key)) continue;
    const current = pairCounts.get(key) ?? 0;
    if (count !== current) {
      if (current > 0) queue.push(current, key);
      continue;
    }
    if (count < minFrequency) break;
    const left = Math.floor(key / MAX_VOCAB_SIZE);
    const right = key % MAX_VOCAB_SIZE;
    const bytes = new Uint8Array([...tokenBytes[left]!, ...tokenBytes[right]!]);
    const name = byteLevelToken(bytes);
    if (idOfToken.has(name)) {
      respelled.add(key);
      continue;
    }
    const result = tokenBytes.length;
    tokenBytes.push(bytes);
    idOfToken.set(name, result);
    const merge = { left, right, result };
    merges.push(merge);

    const grown = new Set<number>();
    for (const w of where.get(key)!) {
      if (visited[w] === merges.length) continue;
      visited[w] = merges.length;
      const symbols = words[w]!;
      const merged = applyMerge(symbols, merge);
      if (merged.length === symbols.length) continue; // a stale entry: an earlier merge took the pair
      const c = counts[w]!;
      for (let i = 0; i + 1 < symbols.length; i++) addPair(pairKey(symbols[i]!, symbols[i + 1]!), -c);
      for (let i = 0; i + 1 < merged.length; i++) {
        const a = merged[i]!;
        const b = merged[i + 1]!;
        const pair = pairKey(a, b);
        addPair(pair, c);
        if (a === result || b === result) {
          grown.add(pair);
          noteWord(pair, w);
        }
      }
      words[w] = merged;
    }
    where.delete(key);
    for (const pair of grown) queue.push(pairCounts.get(pair)!, pair);
  }

  const specials = SpecialTokens.numbered(specialTokens, tokenBytes.length);
  const byIdWithSpecials: (Uint8Array | undefined)[] = [...tokenBytes, ...specialTokens.map(() => undefined)];
  return new ByteLevelBpe(byIdWithSpecials, Array.from({ length: 256 }, (_, byte) => byte), merges, specials);
}

function checkVocabSize(vocabSize: number, specialTokens: readonly string[]): void {
  const least = 256 + specialTokens.length;
  const specials = specialTokens.length === 0 ? '' : ` + ${specialTokens.length} special token${specialTokens.length === 1 ? '' : 's'} (${specialTokens.join(', ')})`;
  if (!Number.isInteger(vocabSize) || vocabSize > MAX_VOCAB_SIZE) {
    throw new TokenizerError(`vocab_size must be a whole number from ${least} to ${MAX_VOCAB_SIZE}; got ${vocabSize}`);
  }
  if (vocabSize < least) {
    throw new TokenizerError(`vocab_size ${vocabSize} is too small for byte-level BPE: it needs at least ${least} (256 byte tokens${specials}); use tokenizer=char for a smaller vocabulary`);
  }
}
