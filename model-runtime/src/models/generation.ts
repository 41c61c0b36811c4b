/**
 * The generation loop: prompt ids in, an async iterator of new tokens (with the text each one
 * makes final) out, so a server or a terminal can show them as they come.
 *
 * With the KV cache (the default) the prompt is fed once and then each new token costs one
 * decoder step over one position. `useCache: false` re-feeds the whole window every step; it
 * exists to check that the cache changes nothing but the cost.
 *
 * The window: the model has embeddings for context_length positions. When prompt plus new
 * tokens would exceed them, `overflow: 'refuse'` says so before generating; `'slide'` drops
 * the oldest tokens once the window is full, keeping the newest half, and rebuilds the cache
 * from those (one pass), so sliding costs one prefix pass per half window rather than one per
 * token. Both modes follow the same window, so they produce the same tokens.
 *
 * Text: the tokens decode together (a byte-level token can end inside a UTF-8 character), and
 * text is only handed out once it can no longer change: not while it ends in an incomplete
 * character, nor while its end could still be the start of a stop sequence. A stop sequence
 * ends the generation with the text up to and including it; the eos token ends it without
 * adding text.
 */
import { createRandom } from '../data/random.ts';
import type { Tokenizer } from '../text/tokenizer.ts';
import type { CausalDecoder, KvCache } from './generation-decoder.ts';
import type { SamplingSettings } from './sampling.ts';
import { sampleToken, samplingSettingsProblem } from './sampling.ts';

export interface GenerationSettings extends SamplingSettings {
  /** New tokens at most (the eos token, when it ends the generation, counts as one). */
  readonly maxNewTokens: number;
  /** Seeds the sampling draws; the same seed, prompt and model give the same tokens. */
  readonly seed: number;
  /** Strings that end the generation when the text produces them; the text keeps them. */
  readonly stop: readonly string[];
  /** The token that ends a generation (GPT-2's <|endoftext|>); null = none. */
  readonly eosTokenId: number | null;
  /** What to do when prompt + max_new_tokens exceeds the context length. @default 'slide' */
  readonly overflow?: 'slide' | 'refuse';
  /** @default true */
  readonly useCache?: boolean;
}

export type FinishReason = 'length' | 'eos' | 'stop';

export interface GeneratedToken {
  readonly id: number;
  /** Text made final by this token (may be empty; see the file comment). */
  readonly text: string;
}

export interface GenerationResult {
  /** The generated text (not the prompt), stop sequence included when one ended it. */
  readonly text: string;
  readonly tokenIds: readonly number[];
  readonly finishReason: FinishReason;
}

/** Refusals the caller should show the user as their mistake (a 400 in serving). */
export class GenerationRequestError extends Error {}

/** Why the request cannot be generated, or null. */
export function generationProblem(promptLength: number, settings: GenerationSettings, contextLength: number): string | null {
  if (!Number.isInteger(settings.maxNewTokens) || settings.maxNewTokens < 1) return `max_new_tokens must be a whole number >= 1, got ${settings.maxNewTokens}`;
  if (settings.doSample) {
    const problem = samplingSettingsProblem(settings);
    if (problem !== null) return problem;
  }
  if (promptLength < 1) return 'the prompt is empty: the model needs at least one token to continue from';
  if (promptLength > contextLength) return `the prompt is ${promptLength} tokens, more than the model's context length of ${contextLength} tokens`;
  if ((settings.overflow ?? 'slide') === 'refuse' && promptLength + settings.maxNewTokens > contextLength) {
    return `the prompt (${promptLength} tokens) plus max_new_tokens (${settings.maxNewTokens}) exceed the context length of ${contextLength} tokens`;
  }
  if (settings.stop.some((s) => s.length === 0)) return 'stop sequences must not be empty strings';
  return null;
}

/** Yields each new token; the iterator's return value is the whole result. */
export async function* generateTokens(
  decoder: CausalDecoder,
  tokenizer: Tokenizer,
  promptIds: readonly number[],
  settings: GenerationSettings,
): AsyncGenerator<GeneratedToken, GenerationResult, undefined> {
  const contextLength = decoder.shape.contextLength;
  const problem = generationProblem(promptIds.length, settings, contextLength);
  if (problem !== null) throw new GenerationRequestError(problem);
  const useCache = settings.useCache ?? true;
  const random = createRandom(settings.seed);
  const keepOnSlide = Math.max(1, Math.ceil(contextLength / 2));

  const tokens = [...promptIds];
  const generated: number[] = [];
  const text = new StableText(tokenizer, settings.stop);
  let windowStart = 0;
  let cache: KvCache = decoder.emptyCache();

  for (let n = 0; n < settings.maxNewTokens; n++) {
    // The next position must have an embedding: slide when the window is full.
    if (tokens.length - windowStart > contextLength) {
      windowStart = tokens.length - keepOnSlide;
      cache = decoder.emptyCache();
    }
    const step = useCache
      ? await decoder.step(tokens.slice(windowStart + cache.length), cache)
      : await decoder.step(tokens.slice(windowStart), decoder.emptyCache());
    if (useCache) cache = step.cache;
    const id = sampleToken(step.logits, settings, random);
    if (id === settings.eosTokenId) {
      const rest = text.finish();
      if (rest.length > 0) yield { id, text: rest };
      return { text: text.all, tokenIds: generated, finishReason: 'eos' };
    }
    tokens.push(id);
    generated.push(id);
    const update = text.push(generated);
    yield { id, text: update.text };
    if (update.stopped) return { text: text.all, tokenIds: generated, finishReason: 'stop' };
  }
  const rest = text.finish();
  if (rest.length > 0) yield { id: generated[generated.length - 1]!, text: rest };
  return { text: text.all, tokenIds: generated, finishReason: 'length' };
}

/** Runs the generation to the end. */
export async function generate(decoder: CausalDecoder, tokenizer: Tokenizer, promptIds: readonly number[], settings: GenerationSettings): Promise<GenerationResult> {
  const tokens = generateTokens(decoder, tokenizer, promptIds, settings);
  for (;;) {
    const next = await tokens.next();
    if (next.done === true) return next.value;
  }
}

/** The decoded continuation and how much of it has been handed out. */
class StableText {
  private decoded = '';
  private emitted = 0;
  private stoppedAt: number | null = null;
  private readonly longestStop: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly stops: readonly string[],
  ) {
    this.longestStop = Math.max(0, ...stops.map((s) => s.length));
  }

  /** Everything final so far, and at the end everything. */
  get all(): string {
    return this.stoppedAt === null ? this.decoded.slice(0, this.emitted) : this.decoded.slice(0, this.stoppedAt);
  }

  push(ids: readonly number[]): { text: string; stopped: boolean } {
    const before = this.decoded.length;
    this.decoded = this.tokenizer.decode(ids);
    // Only the part a stop could newly end in needs searching.
    const from = Math.max(0, Math.min(before, this.emitted) - this.longestStop);
    let end: number | null = null;
    for (const stop of this.stops) {
      const at = this.decoded.indexOf(stop, from);
      if (at >= 0 && (end === null || at + stop.length < end)) end = at + stop.length;
    }
    if (end !== null) {
      this.stoppedAt = end;
      const out = this.decoded.slice(this.emitted, end);
      this.emitted = end;
      return { text: out, stopped: true };
    }
    let safe = this.decoded.length;
    // An incomplete UTF-8 character at the end decodes to U+FFFD until its last byte arrives.
    while (safe > this.emitted && this.decoded.charCodeAt(safe - 1) === 0xfffd) safe--;
    safe -= this.heldForStop(safe);
    const out = safe > this.emitted ? this.decoded.slice(this.emitted, safe) : '';
    this.emitted = Math.max(this.emitted, safe);
    return { text: out, stopped: false };
  }

  /** Everything not handed out yet: the generation ended, nothing can change it now. */
  finish(): string {
    const out = this.decoded.slice(this.emitted);
    this.emitted = this.decoded.length;
    return out;
  }

  /** Length of the longest end of decoded[0, upTo) that begins some stop sequence. */
  private heldForStop(upTo: number): number {
    for (let k = Math.min(this.longestStop - 1, upTo - this.emitted); k > 0; k--) {
      const tail = this.decoded.slice(upTo - k, upTo);
      if (this.stops.some((s) => s.startsWith(tail))) return k;
    }
    return 0;
  }
}
