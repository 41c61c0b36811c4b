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
 * text is only handed out once it can no longer change (stable-text.ts): not while it ends in an
 * incomplete character, nor while its end could still be the start of a stop sequence. A stop sequence
 * ends the generation with the text up to and including it; an eos token (any of the model's
 * eos ids) ends it without adding text.
 */
import { createRandom } from '../data/random.ts';
import type { Tokenizer } from '../text/tokenizer.ts';
import type { CausalDecoder, KvCache } from './generation-decoder.ts';
import { penalizeLogits, penaltySettingsProblem, TokenCounts, type PenaltySettings } from './penalties.ts';
import type { SamplingSettings } from './sampling.ts';
import { chooseToken, samplingSettingsProblem } from './sampling.ts';
import { StableText } from './stable-text.ts';

export interface GenerationSettings extends SamplingSettings, PenaltySettings {
  /** New tokens at most (the eos token, when it ends the generation, counts as one). */
  readonly maxNewTokens: number;
  /** Seeds the sampling draws; the same seed, prompt and model give the same tokens. */
  readonly seed: number;
  /** Strings that end the generation when the text produces them; the text keeps them. */
  readonly stop: readonly string[];
  /** The tokens that end a generation (GPT-2's <|endoftext|>; Llama 3's <|end_of_text|> and <|eot_id|>); empty = none. */
  readonly eosTokenIds: readonly number[];
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
  /**
   * ln p(id) under the distribution it was chosen from, as TGI reports it: the log-softmax of the
   * step's logits after the repetition and frequency penalties; when sampling, also after
   * temperature, top-k and top-p (renormalised over the tokens they keep).
   */
  readonly logprob: number;
  /** The eos token: it ends the generation and adds no text of its own. */
  readonly special: boolean;
  /** Set on the last token only, so a stream can mark its last line without waiting for one more step. */
  readonly finishReason?: FinishReason;
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
  const penaltyProblem = penaltySettingsProblem(settings);
  if (penaltyProblem !== null) return penaltyProblem;
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
  const sequence = new GenerationSequence(tokenizer, promptIds, settings, decoder.shape.contextLength);
  const useCache = settings.useCache ?? true;
  let cache: KvCache = decoder.emptyCache();
  while (!sequence.done) {
    if (sequence.slideWindow()) cache = decoder.emptyCache();
    const window = sequence.window;
    const step = useCache ? await decoder.step(window.slice(cache.length), cache) : await decoder.step(window, decoder.emptyCache());
    if (useCache) cache = step.cache;
    yield sequence.accept(step.logits);
  }
  return sequence.result;
}

/**
 * One generation between decoder steps: its tokens, window, draws and text. Whoever runs the
 * decoder (generateTokens alone, or a scheduler batching many) feeds `window` past what its
 * cache holds and hands the step's logits to `accept`, so batched and lone generations make
 * the same choices from the same logits.
 */
export class GenerationSequence {
  readonly promptLength: number;
  private readonly tokens: number[];
  private readonly generated: number[] = [];
  /** Prompt and generated ids, counted for the penalties: this sequence's own, whatever batch it runs in. */
  private readonly history: TokenCounts;
  private readonly text: StableText;
  private readonly random: () => number;
  private readonly keepOnSlide: number;
  private windowStart = 0;
  private finishReason: FinishReason | null = null;

  /** Throws GenerationRequestError when the request cannot be generated. */
  constructor(
    tokenizer: Tokenizer,
    promptIds: readonly number[],
    private readonly settings: GenerationSettings,
    private readonly contextLength: number,
  ) {
    const problem = generationProblem(promptIds.length, settings, contextLength);
    if (problem !== null) throw new GenerationRequestError(problem);
    this.promptLength = promptIds.length;
    this.tokens = [...promptIds];
    this.history = new TokenCounts(promptIds);
    this.text = new StableText(tokenizer, settings.stop);
    this.random = createRandom(settings.seed);
    this.keepOnSlide = Math.max(1, Math.ceil(contextLength / 2));
  }

  get done(): boolean {
    return this.finishReason !== null;
  }

  /** The most positions its cache will ever hold: prompt plus new tokens, within the window. */
  get reservedPositions(): number {
    return Math.min(this.promptLength + this.settings.maxNewTokens, this.contextLength);
  }

  /** New tokens it may still make: max_new_tokens less those made (an end token or a stop may come sooner). */
  get remainingNewTokens(): number {
    return this.done ? 0 : this.settings.maxNewTokens - this.generated.length;
  }

  /**
   * The next position must have an embedding: when the window is full, keep its newest half.
   * true = the window moved, and the cache must be rebuilt from `window` (one pass).
   */
  slideWindow(): boolean {
    if (this.tokens.length - this.windowStart <= this.contextLength) return false;
    this.windowStart = this.tokens.length - this.keepOnSlide;
    return true;
  }

  /** The tokens the model sees: a cache holding them all is complete. */
  get window(): readonly number[] {
    return this.tokens.slice(this.windowStart);
  }

  /** Chooses the token after the window from the step's logits (V); the last one carries finishReason. */
  accept(logits: Float32Array): GeneratedToken {
    if (this.done) throw new Error('generation: accept after the generation ended');
    // Penalties before temperature, top-k and top-p, as TGI and transformers order them.
    const scores = penalizeLogits(logits, this.history, this.settings);
    const { id, logprob } = chooseToken(scores, this.settings, this.random);
    if (this.settings.eosTokenIds.includes(id)) {
      this.finishReason = 'eos';
      return { id, text: this.text.finish(), logprob, special: true, finishReason: 'eos' };
    }
    this.tokens.push(id);
    this.generated.push(id);
    this.history.add(id);
    const update = this.text.push(this.generated);
    if (update.stopped) {
      this.finishReason = 'stop';
      return { id, text: update.text, logprob, special: false, finishReason: 'stop' };
    }
    if (this.generated.length < this.settings.maxNewTokens) return { id, text: update.text, logprob, special: false };
    // The last token also hands out whatever was held back (an unfinished character, a possible stop's start).
    this.finishReason = 'length';
    return { id, text: update.text + this.text.finish(), logprob, special: false, finishReason: 'length' };
  }

  /** The whole result; complete once `done`. */
  get result(): GenerationResult {
    return { text: this.text.all, tokenIds: [...this.generated], finishReason: this.finishReason ?? 'length' };
  }
}

/** Runs the generation to the end. */
export async function generate(decoder: CausalDecoder, tokenizer: Tokenizer, promptIds: readonly number[], settings: GenerationSettings): Promise<GenerationResult> {
  const tokens = generateTokens(decoder, tokenizer, promptIds, settings);
  for (;;) {
    const next = await tokens.next();
    if (next.done === true) return next.value;
  }
}
