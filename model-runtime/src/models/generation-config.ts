/**
 * generation_config.json beside a language model (Hugging Face's GenerationConfig, which
 * transformers' generate() and serving stacks read before config.json), and what it makes of a
 * generation:
 *
 * - the ids that end it: generation_config.json's eos_token_id (one id or a list) when it sets
 *   one, else config.json's: transformers' rule, since a model's generation config overrides the
 *   generation attributes of its config;
 * - the token an empty prompt starts from: bos_token_id (generation_config.json's, else
 *   config.json's), as generate() starts from bos when it is given no input_ids; else the first
 *   eos id (GPT-2 begins and ends text with the same <|endoftext|>);
 * - the defaults of a request that leaves them out: max_new_tokens, do_sample, temperature,
 *   top_k, top_p, repetition_penalty (applied whether or not the generation samples, as
 *   transformers does). A request's own values win. max_length is checked but sets no default: it
 *   counts the prompt, transformers writes it only when someone set it, and TGI and vLLM do not
 *   derive a default from it either (this runtime's own language model writes max_length = its
 *   context length, which would otherwise turn its default of 20 new tokens into the whole window).
 *
 * Each field has the range a request's parameter has; a wrong type or range throws naming the
 * field and the range (`modelstack package` refuses the folder), null is "not set", and fields
 * this runtime does not use (pad_token_id, transformers_version ...) are ignored.
 */
import { REPETITION_PENALTY_ALLOWED, repetitionPenaltyAllowed } from './penalties.ts';
import type { DecoderConfig } from './gpt-config.ts';
import { bosTokenId, eosTokenIds } from './special-token-ids.ts';

/** What a request takes from the model when it leaves a parameter out (absent: the runtime's own default). */
export interface GenerationDefaults {
  readonly maxNewTokens?: number;
  readonly doSample?: boolean;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly repetitionPenalty?: number;
}

/** generation_config.json, checked. */
export interface GenerationConfigFile {
  /** null: the file does not set eos_token_id (config.json's then ends the generation). */
  readonly eosTokenIds: readonly number[] | null;
  readonly bosTokenId: number | null;
  readonly defaults: GenerationDefaults;
}

/** How a model's generations start and end, and the request defaults: config.json and generation_config.json together. */
export interface GenerationRules {
  /** A generation ends when it produces any of these (empty: only length and stop sequences end it). */
  readonly eosTokenIds: readonly number[];
  /** What an empty prompt starts from; null: an empty prompt is refused. */
  readonly startTokenId: number | null;
  readonly defaults: GenerationDefaults;
}

/** Reads generation_config.json's text; `vocabSize` is config.json's (every token id is below it); `source` names the file in errors. */
export function parseGenerationConfig(text: string, source: string, vocabSize: number): GenerationConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${source} must be a JSON object (the model's GenerationConfig: eos_token_id, max_new_tokens, ...)`);
  const record = raw as Record<string, unknown>;
  const set = (key: string): boolean => record[key] !== undefined && record[key] !== null;
  const wrong = (key: string, allowed: string): Error => new Error(`${source}: ${key} must be ${allowed}, got ${JSON.stringify(record[key])}`);
  const integer = (key: string, min: number, allowed: string): number | undefined => {
    if (!set(key)) return undefined;
    const v = record[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw wrong(key, allowed);
    return v;
  };
  const number = (key: string, ok: (v: number) => boolean, allowed: string): number | undefined => {
    if (!set(key)) return undefined;
    const v = record[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw wrong(key, allowed);
    return v;
  };
  if (set('do_sample') && typeof record.do_sample !== 'boolean') throw wrong('do_sample', 'true or false');
  integer('max_length', 1, 'a whole number >= 1 (prompt plus new tokens)');
  const defaults: GenerationDefaults = {
    maxNewTokens: integer('max_new_tokens', 1, 'a whole number >= 1'),
    doSample: set('do_sample') ? (record.do_sample as boolean) : undefined,
    // transformers ignores temperature unless do_sample is true, and exports do ship
    // `"temperature": 0` beside greedy settings: not set then. With do_sample true it must be > 0.
    temperature: record.temperature === 0 && record.do_sample !== true ? undefined : number('temperature', (v) => v > 0, 'a number above 0 (0 only where do_sample is not true: greedy)'),
    topK: integer('top_k', 0, 'a whole number >= 0 (0 = off)'),
    topP: number('top_p', (v) => v > 0 && v <= 1, 'a number in (0, 1] (1 = off)'),
    repetitionPenalty: number('repetition_penalty', repetitionPenaltyAllowed, REPETITION_PENALTY_ALLOWED),
  };
  return {
    eosTokenIds: eosTokenIds(record, source, vocabSize),
    bosTokenId: bosTokenId(record, source, vocabSize),
    defaults: Object.fromEntries(Object.entries(defaults).filter(([, v]) => v !== undefined)),
  };
}

/** config.json's ids under generation_config.json's (file comment); `file` null when the model has none. */
export function generationRules(config: DecoderConfig, file: GenerationConfigFile | null): GenerationRules {
  const eos = file?.eosTokenIds ?? config.eosTokenIds;
  return { eosTokenIds: eos, startTokenId: file?.bosTokenId ?? config.bosTokenId ?? eos[0] ?? null, defaults: file?.defaults ?? {} };
}
