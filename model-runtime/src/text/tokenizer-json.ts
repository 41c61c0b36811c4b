/**
 * Hugging Face's tokenizer.json, the file @huggingface/tokenizers (and the Rust `tokenizers`
 * crate, and transformers.js) loads: written from either tokenizer here, and read back into the
 * runtime's own encoder, for this runtime's artifacts and for GPT-2-style files from elsewhere.
 *
 * Byte-level BPE is written as GPT-2's file is: model BPE with vocab and merges, pre-tokenizer
 * and decoder ByteLevel. A char tokenizer is a BPE model with no merges and no pre-tokenizer
 * (the library then splits text into code points and looks each up) and the Fuse decoder (which
 * joins tokens with nothing between them; without a decoder the library would join with spaces).
 */
import { BYTE_TO_CHAR, byteLevelToken, bytesOfByteLevelToken } from './byte-level.ts';
import { ByteLevelBpe, type BytePairMerge } from './byte-level-bpe.ts';
import { CharTokenizer } from './char-tokenizer.ts';
import { END_OF_TEXT, SpecialTokens, type SpecialToken } from './special-tokens.ts';
import { TokenizerError } from './text-error.ts';
import { MAX_VOCAB_SIZE, type Tokenizer } from './tokenizer.ts';

export interface AddedTokenJson {
  readonly id: number;
  readonly content: string;
  readonly single_word: boolean;
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  readonly normalized: boolean;
  readonly special: boolean;
}

interface ByteLevelJson {
  readonly type: 'ByteLevel';
  readonly add_prefix_space: boolean;
  readonly trim_offsets: boolean;
  readonly use_regex: boolean;
}

export interface TokenizerJson {
  readonly version: '1.0';
  readonly truncation: null;
  readonly padding: null;
  readonly added_tokens: readonly AddedTokenJson[];
  readonly normalizer: null;
  readonly pre_tokenizer: ByteLevelJson | null;
  readonly post_processor: null;
  readonly decoder: ByteLevelJson | { readonly type: 'Fuse' };
  readonly model: {
    readonly type: 'BPE';
    readonly dropout: null;
    readonly unk_token: null;
    readonly continuing_subword_prefix: null;
    readonly end_of_word_suffix: null;
    readonly fuse_unk: false;
    readonly byte_fallback: false;
    readonly ignore_merges: false;
    readonly vocab: Readonly<Record<string, number>>;
    readonly merges: readonly (readonly [string, string])[];
  };
}

// add_prefix_space off: " hello" and "hello" stay different texts, so decode(encode(text)) is text.
const BYTE_LEVEL: ByteLevelJson = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

export function toTokenizerJson(tokenizer: Tokenizer): TokenizerJson {
  const added_tokens = tokenizer.specialTokens.tokens.map(({ id, content }) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const specialEntries = tokenizer.specialTokens.tokens.map(({ content, id }) => [content, id] as const);
  const model = { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false } as const;
  const common = { version: '1.0', truncation: null, padding: null, added_tokens, normalizer: null, post_processor: null } as const;
  // Object.fromEntries, not assignment: a token spelled "__proto__" must become a key, not the prototype.
  if (tokenizer instanceof ByteLevelBpe) {
    const names = tokenizer.tokenBytes.map((bytes) => (bytes === undefined ? undefined : byteLevelToken(bytes)));
    const vocab = Object.fromEntries([...names.flatMap((name, id) => (name === undefined ? [] : [[name, id] as const])), ...specialEntries]);
    const merges = tokenizer.merges.map(({ left, right }) => [names[left]!, names[right]!] as const);
    return { ...common, pre_tokenizer: BYTE_LEVEL, decoder: BYTE_LEVEL, model: { ...model, vocab, merges } };
  }
  if (tokenizer instanceof CharTokenizer) {
    const vocab = Object.fromEntries([...tokenizer.chars.map((char, id) => [char, id] as const), ...specialEntries]);
    return { ...common, pre_tokenizer: null, decoder: { type: 'Fuse' }, model: { ...model, vocab, merges: [] } };
  }
  throw new TokenizerError(`no tokenizer.json form for a tokenizer of kind ${tokenizer.kind}`);
}

/**
 * tokenizer_config.json, the library's second argument. clean_up_tokenization_spaces must be
 * false: the library's default (true) deletes the space before "." "," "?" "!" and in "n't",
 * so decoding would no longer give back the text.
 */
export function toTokenizerConfigJson(tokenizer: Tokenizer): Record<string, unknown> {
  const endOfText = tokenizer.specialTokens.withContent(END_OF_TEXT) ? END_OF_TEXT : null;
  return { tokenizer_class: 'PreTrainedTokenizerFast', clean_up_tokenization_spaces: false, bos_token: endOfText, eos_token: endOfText };
}

/** tokenizer.json's text: what the library loads, written as one line (a vocabulary has many thousand entries). */
export function serializeTokenizer(tokenizer: Tokenizer): string {
  return JSON.stringify(toTokenizerJson(tokenizer));
}

/**
 * A tokenizer.json as this runtime's tokenizer. Only the forms whose encoding the runtime
 * reproduces exactly are accepted (byte-level BPE as GPT-2's, and char); anything else is
 * refused, naming the field, rather than encoded differently from the library.
 */
export function parseTokenizerJson(text: string, source = 'tokenizer.json'): Tokenizer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TokenizerError(`${source} is not JSON: ${(error as Error).message}`);
  }
  const fail = (problem: string) => new TokenizerError(`${source}: ${problem}`);
  const root = asObject(value, 'the file', fail);
  const model = asObject(root.model, 'model', fail);
  if (model.type !== 'BPE') throw fail(`model.type is ${JSON.stringify(model.type)}; this runtime reads BPE tokenizers (byte-level or char)`);
  if (root.normalizer != null) throw fail('normalizer is set; this runtime reads tokenizers without a normalizer');
  for (const field of ['unk_token', 'continuing_subword_prefix', 'end_of_word_suffix', 'dropout'] as const) {
    if (model[field] != null && model[field] !== '') throw fail(`model.${field} is ${JSON.stringify(model[field])}; expected null`);
  }
  if (model.byte_fallback === true || model.ignore_merges === true) throw fail('model.byte_fallback and model.ignore_merges must be false');

  const specials = readAddedTokens(root.added_tokens, fail);
  const vocab = readVocab(model.vocab, specials, fail);
  const merges = readMerges(model.merges, fail);
  const decoder = root.decoder == null ? undefined : asObject(root.decoder, 'decoder', fail);
  if (decoder?.type === 'ByteLevel') {
    checkByteLevelPreTokenizer(root.pre_tokenizer, fail);
    const postProcessor = root.post_processor == null ? undefined : asObject(root.post_processor, 'post_processor', fail);
    // GPT-2's files name a ByteLevel post-processor; it only adjusts offsets, never ids.
    if (postProcessor && postProcessor.type !== 'ByteLevel') throw fail(`post_processor.type is ${JSON.stringify(postProcessor.type)}; expected null or ByteLevel`);
    return byteLevelFromJson(vocab, merges, specials, fail);
  }
  if (decoder?.type === 'Fuse' && root.pre_tokenizer == null && merges.length === 0) {
    if (root.post_processor != null) throw fail('post_processor is set; a char tokenizer has none');
    return charFromJson(vocab, specials, fail);
  }
  throw fail('expected a byte-level BPE (decoder ByteLevel) or a char tokenizer (decoder Fuse, no pre_tokenizer, no merges)');
}

type Fail = (problem: string) => TokenizerError;
type JsonObject = Readonly<Record<string, unknown>>;

function asObject(value: unknown, name: string, fail: Fail): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`${name} must be a JSON object`);
  return value as JsonObject;
}

function readAddedTokens(value: unknown, fail: Fail): SpecialTokens {
  if (!Array.isArray(value)) throw fail('added_tokens must be an array');
  const tokens: SpecialToken[] = value.map((entry: unknown, i) => {
    const token = asObject(entry, `added_tokens[${i}]`, fail);
    if (typeof token.content !== 'string' || token.content === '' || !Number.isInteger(token.id)) throw fail(`added_tokens[${i}] needs a non-empty content and a whole-number id`);
    // The library (like the Rust crate) strips or word-bounds such tokens; this runtime does neither.
    if (token.lstrip === true || token.rstrip === true || token.single_word === true) throw fail(`added_tokens[${i}] (${token.content}) sets lstrip, rstrip or single_word; expected false`);
    return { content: token.content, id: token.id as number };
  });
  if (new Set(tokens.map((token) => token.content)).size < tokens.length) throw fail('added_tokens lists a content twice');
  return new SpecialTokens(tokens);
}

/** Ordinary tokens by id (undefined at special tokens' ids), after checking the ids run 0..N-1. */
function readVocab(value: unknown, specials: SpecialTokens, fail: Fail): (string | undefined)[] {
  const entries = Object.entries(asObject(value, 'model.vocab', fail));
  const size = Math.max(entries.length, ...specials.tokens.map((token) => token.id + 1));
  if (size > MAX_VOCAB_SIZE) throw fail(`the vocabulary has ${size} tokens; this runtime reads at most ${MAX_VOCAB_SIZE}`);
  const byId: (string | undefined)[] = new Array(size).fill(undefined);
  const taken = new Array<boolean>(size).fill(false);
  for (const token of specials.tokens) {
    if (token.id < 0 || token.id >= size || taken[token.id]) throw fail(`added token ${token.content} has id ${token.id}, outside 0..${size - 1} or taken twice`);
    taken[token.id] = true;
  }
  for (const [name, id] of entries) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= size) throw fail(`model.vocab[${JSON.stringify(name)}] is ${JSON.stringify(id)}; expected a whole number from 0 to ${size - 1}`);
    const special = specials.withId(id as number);
    if (special) {
      if (special.content !== name) throw fail(`model.vocab gives id ${id} to ${JSON.stringify(name)} and added_tokens to ${special.content}`);
      continue;
    }
    if (specials.withContent(name)) throw fail(`model.vocab gives ${name} id ${id}, added_tokens another`);
    if (taken[id as number]) throw fail(`model.vocab gives id ${id} to two tokens`);
    taken[id as number] = true;
    byId[id as number] = name;
  }
  const missing = taken.indexOf(false);
  if (missing >= 0) throw fail(`no token has id ${missing}; ids must run from 0 to ${size - 1} without gaps`);
  return byId;
}

function readMerges(value: unknown, fail: Fail): [string, string][] {
  if (!Array.isArray(value)) throw fail('model.merges must be an array');
  return value.map((entry: unknown, rank) => {
    // Newer files write ["a", "b"]; older ones "a b" (unambiguous for byte-level tokens, which never hold a space).
    const pair = typeof entry === 'string' ? entry.split(' ') : entry;
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw fail(`model.merges[${rank}] is ${JSON.stringify(entry)}; expected two tokens, ["a", "b"] or "a b"`);
    }
    return [pair[0], pair[1]];
  });
}

function checkByteLevelPreTokenizer(value: unknown, fail: Fail): void {
  const pre = value == null ? undefined : asObject(value, 'pre_tokenizer', fail);
  if (pre?.type !== 'ByteLevel') throw fail(`pre_tokenizer must be ByteLevel for a ByteLevel decoder; got ${JSON.stringify(pre?.type ?? null)}`);
  if (pre.add_prefix_space === true) throw fail('pre_tokenizer.add_prefix_space is true; this runtime encodes without a prefix space (expected false)');
  if (pre.use_regex === false) throw fail('pre_tokenizer.use_regex is false; this runtime splits with GPT-2\'s pattern (expected true)');
}

function byteLevelFromJson(names: readonly (string | undefined)[], merges: readonly [string, string][], specials: SpecialTokens, fail: Fail): ByteLevelBpe {
  const ids = new Map<string, number>();
  const tokenBytes = names.map((name, id) => {
    if (name === undefined) return undefined;
    const bytes = bytesOfByteLevelToken(name);
    if (bytes === undefined || bytes.length === 0) throw fail(`model.vocab token ${JSON.stringify(name)} (id ${id}) is not a byte-level token`);
    ids.set(name, id);
    return bytes;
  });
  const byteIds = BYTE_TO_CHAR.map((char, byte) => {
    const id = ids.get(char);
    if (id === undefined) throw fail(`model.vocab lacks the token for byte 0x${byte.toString(16).padStart(2, '0')} (${JSON.stringify(char)}); byte-level BPE needs all 256`);
    return id;
  });
  // The runtime's encoder merges every occurrence of the best pair at once (GPT-2's bpe()), the
  // library one at a time; they agree when each merge makes a token of its own that only later
  // merges use, as learned merges do.
  const madeBy = new Map<number, number>();
  const resolved: BytePairMerge[] = merges.map(([leftName, rightName], rank) => {
    const left = ids.get(leftName);
    const right = ids.get(rightName);
    const result = ids.get(leftName + rightName);
    if (left === undefined || right === undefined || result === undefined) {
      throw fail(`model.merges[${rank}] ${JSON.stringify([leftName, rightName])} names a token that model.vocab lacks`);
    }
    for (const used of [left, right]) {
      const maker = madeBy.get(used);
      if (maker === undefined && names[used]!.length > 1) throw fail(`model.merges[${rank}] uses ${JSON.stringify(names[used])} before any merge makes it`);
    }
    if (madeBy.has(result)) throw fail(`model.merges[${rank}] makes ${JSON.stringify(names[result])}, which model.merges[${madeBy.get(result)}] already makes`);
    madeBy.set(result, rank);
    return { left, right, result };
  });
  return new ByteLevelBpe(tokenBytes, byteIds, resolved, specials);
}

function charFromJson(names: readonly (string | undefined)[], specials: SpecialTokens, fail: Fail): CharTokenizer {
  const chars = names.slice(0, names.length - specials.size);
  chars.forEach((char, id) => {
    if (char === undefined) throw fail(`id ${id} is a special token; a char tokenizer numbers its characters first, then its special tokens`);
    if ([...char].length !== 1) throw fail(`model.vocab token ${JSON.stringify(char)} (id ${id}) is not one character`);
  });
  return new CharTokenizer(chars as string[], specials);
}
