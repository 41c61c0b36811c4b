/**
 * The text-generation request schema Hugging Face's containers on SageMaker take:
 *
 *     {"inputs": "prompt", "parameters": {"max_new_tokens": 50, "temperature": 0.7, "top_k": 40,
 *      "top_p": 0.9, "do_sample": true, "seed": 1, "stop": ["\n\n"], "return_full_text": false,
 *      "repetition_penalty": 1.1, "frequency_penalty": 0.5, "truncate": 512, "details": true}}
 *
 * `inputs` may also be a list of prompts (each generates alone, answers in order). Every
 * parameter is optional; an unknown one, or one of the wrong type or out of range, is a 400
 * that names it and says what is allowed. Defaults follow Hugging Face's text-generation
 * containers: greedy (do_sample false), 20 new tokens, the generated text without the prompt;
 * a model's generation_config.json replaces the defaults of max_new_tokens (still capped by
 * the endpoint's limit), do_sample, temperature, top_k, top_p and repetition_penalty
 * (models/generation-config.ts). The penalties are TGI's (models/penalties.ts); `truncate` keeps
 * the last N prompt tokens; `details` adds TGI's details object to each answer.
 *
 * TGI parameters this runtime cannot honour (grammar, typical_p, adapter_id, watermark true,
 * best_of above 1, top_n_tokens above 0, decoder_input_details true) are a 400 that says so
 * rather than being ignored; their off values (and null, as huggingface_hub sends for unset
 * ones) are accepted.
 * `"stream": true` beside "inputs" (TGI's flag) asks for the answer a token at a time; it takes
 * one prompt.
 */
import type { GenerationDefaults } from '../models/generation-config.ts';
import { FREQUENCY_PENALTY_LIMIT, REPETITION_PENALTY_ALLOWED, repetitionPenaltyAllowed } from '../models/penalties.ts';
import { badRequest } from './http-error.ts';

export interface TextGenerationParameters {
  readonly maxNewTokens: number;
  readonly temperature: number;
  /** 0 = no top-k filter. */
  readonly topK: number;
  readonly topP: number;
  readonly doSample: boolean;
  /** null: drawn per request (sampling is then not reproducible). */
  readonly seed: number | null;
  readonly stop: readonly string[];
  readonly returnFullText: boolean;
  /** > 0; 1 = off. */
  readonly repetitionPenalty: number;
  /** In [-2, 2]; 0 = off. */
  readonly frequencyPenalty: number;
  /** Keep only the last N prompt tokens; null = the whole prompt. */
  readonly truncate: number | null;
  /** Answer with TGI's details (finish_reason, generated_tokens, seed, tokens). */
  readonly details: boolean;
}

export interface TextGenerationRequest {
  readonly prompts: readonly string[];
  /** Whether `inputs` was a list (the answer is then one list per prompt). */
  readonly batched: boolean;
  readonly parameters: TextGenerationParameters;
  /** TGI's `"stream": true`: the answer comes a token at a time (text-generation-stream.ts). */
  readonly stream: boolean;
}

export const DEFAULT_MAX_NEW_TOKENS = 20;
/** Most prompts one request may carry: each is generated in turn within the 60 s invocation limit. */
export const MAX_PROMPTS = 16;
export const MAX_STOP_SEQUENCES = 16;

const PARAMETER_NAMES = [
  'max_new_tokens', 'temperature', 'top_k', 'top_p', 'do_sample', 'seed', 'stop', 'return_full_text',
  'repetition_penalty', 'frequency_penalty', 'truncate', 'details',
] as const;

/** TGI parameters this runtime cannot honour, each with the one value that asks for nothing (undefined: none does). */
const UNSUPPORTED_PARAMETERS: Readonly<Record<string, { readonly harmless?: boolean | number; readonly what: string }>> = {
  best_of: { harmless: 1, what: 'several sequences per prompt' },
  watermark: { harmless: false, what: 'watermarking' },
  decoder_input_details: { harmless: false, what: "the prompt tokens' log-probabilities" },
  top_n_tokens: { harmless: 0, what: 'the most likely alternatives of each token' },
  typical_p: { what: 'typical decoding' },
  grammar: { what: 'constrained (grammar or JSON schema) decoding' },
  adapter_id: { what: 'LoRA adapters' },
};

/**
 * Parses the body's text; `maxNewTokensLimit` is the most max_new_tokens this endpoint allows,
 * `defaults` the model's own for the parameters a request leaves out (generation_config.json).
 */
export function parseTextGenerationRequest(text: string, maxNewTokensLimit: number, defaults: GenerationDefaults = {}): TextGenerationRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw badRequest(`the body is not valid JSON (${(error as Error).message}); send {"inputs": "a prompt", "parameters": {...}}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object: {"inputs": "a prompt", "parameters": {...}}');
  const record = body as Record<string, unknown>;
  const unknownKeys = Object.keys(record).filter((k) => k !== 'inputs' && k !== 'parameters' && k !== 'stream');
  if (unknownKeys.length > 0) throw badRequest(`unknown key ${JSON.stringify(unknownKeys[0])} in the body; a text-generation request has "inputs" and optionally "parameters" and "stream"`);
  const stream = record.stream ?? false;
  if (typeof stream !== 'boolean') throw badRequest(`"stream" must be true or false, got ${describeValue(stream)}`);

  const inputs = record.inputs;
  let prompts: string[];
  if (typeof inputs === 'string') prompts = [inputs];
  else if (Array.isArray(inputs) && inputs.length > 0 && inputs.every((p) => typeof p === 'string')) prompts = inputs as string[];
  else throw badRequest(`"inputs" must be a prompt string or a non-empty list of prompt strings, got ${describeValue(inputs)}`);
  if (prompts.length > MAX_PROMPTS) throw badRequest(`"inputs" holds ${prompts.length} prompts; at most ${MAX_PROMPTS} per request`);
  if (stream && Array.isArray(inputs)) throw badRequest(`"stream": true streams one prompt; "inputs" must then be a prompt string, not a list of ${prompts.length}`);

  return { prompts, batched: Array.isArray(inputs), parameters: parseParameters(record.parameters, maxNewTokensLimit, defaults), stream };
}

function parseParameters(raw: unknown, maxNewTokensLimit: number, defaults: GenerationDefaults): TextGenerationParameters {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw badRequest(`"parameters" must be an object, got ${describeValue(raw)}`);
  const p = raw as Record<string, unknown>;
  for (const key of Object.keys(p)) {
    const unsupported = UNSUPPORTED_PARAMETERS[key];
    if (unsupported !== undefined) {
      if (p[key] === undefined || p[key] === null || p[key] === unsupported.harmless) continue;
      const off = unsupported.harmless === undefined ? 'leave it out' : `leave it out or send ${JSON.stringify(unsupported.harmless)}`;
      throw badRequest(`parameter ${key} is not supported by this endpoint (${unsupported.what}), got ${describeValue(p[key])}; ${off}`);
    }
    if (!(PARAMETER_NAMES as readonly string[]).includes(key)) throw badRequest(`unknown parameter ${JSON.stringify(key)}; this endpoint takes ${PARAMETER_NAMES.join(', ')}`);
  }
  const given = (key: string): boolean => p[key] !== undefined && p[key] !== null;
  const integer = (key: string, min: number, max: number, fallback: number, allowed: string): number => {
    if (!given(key)) return fallback;
    const v = p[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw badRequest(`parameter ${key} must be ${allowed}, got ${describeValue(v)}`);
    return v;
  };
  const boolean = (key: string, fallback: boolean): boolean => {
    if (!given(key)) return fallback;
    if (typeof p[key] !== 'boolean') throw badRequest(`parameter ${key} must be true or false, got ${describeValue(p[key])}`);
    return p[key] as boolean;
  };

  if (given('max_new_tokens') && typeof p.max_new_tokens === 'number' && Number.isInteger(p.max_new_tokens) && p.max_new_tokens > maxNewTokensLimit) {
    throw badRequest(`parameter max_new_tokens is ${p.max_new_tokens}, above this endpoint's limit of ${maxNewTokensLimit}`);
  }
  const maxNewTokens = integer('max_new_tokens', 1, maxNewTokensLimit, Math.min(defaults.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS, maxNewTokensLimit), `a whole number from 1 to ${maxNewTokensLimit}`);
  let temperature = defaults.temperature ?? 1;
  if (given('temperature')) {
    const v = p.temperature;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw badRequest(`parameter temperature must be a number above 0, got ${describeValue(v)}`);
    temperature = v;
  }
  const topK = integer('top_k', 0, Number.MAX_SAFE_INTEGER, defaults.topK ?? 0, 'a whole number >= 0 (0 = off)');
  let topP = defaults.topP ?? 1;
  if (given('top_p')) {
    const v = p.top_p;
    if (typeof v !== 'number' || !(v > 0 && v <= 1)) throw badRequest(`parameter top_p must be a number in (0, 1], got ${describeValue(v)}`);
    topP = v;
  }
  const seed = given('seed') ? integer('seed', 0, 2 ** 32 - 1, 0, 'a whole number from 0 to 4294967295') : null;
  let stop: string[] = [];
  if (given('stop')) {
    const v = p.stop;
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s.length > 0) || list.length > MAX_STOP_SEQUENCES) {
      throw badRequest(`parameter stop must be a list of at most ${MAX_STOP_SEQUENCES} non-empty strings, got ${describeValue(v)}`);
    }
    stop = list as string[];
  }
  let repetitionPenalty = defaults.repetitionPenalty ?? 1;
  if (given('repetition_penalty')) {
    const v = p.repetition_penalty;
    if (typeof v !== 'number' || !repetitionPenaltyAllowed(v)) throw badRequest(`parameter repetition_penalty must be ${REPETITION_PENALTY_ALLOWED}, got ${describeValue(v)}`);
    repetitionPenalty = v;
  }
  let frequencyPenalty = 0;
  if (given('frequency_penalty')) {
    const v = p.frequency_penalty;
    if (typeof v !== 'number' || !(v >= -FREQUENCY_PENALTY_LIMIT && v <= FREQUENCY_PENALTY_LIMIT)) throw badRequest(`parameter frequency_penalty must be a number from -2 to 2 (0 = off), got ${describeValue(v)}`);
    frequencyPenalty = v;
  }
  const truncate = given('truncate') ? integer('truncate', 1, Number.MAX_SAFE_INTEGER, 1, 'a whole number >= 1 (the prompt tokens to keep, from the end)') : null;
  return {
    maxNewTokens, temperature, topK, topP, doSample: boolean('do_sample', defaults.doSample ?? false), seed, stop, returnFullText: boolean('return_full_text', false),
    repetitionPenalty, frequencyPenalty, truncate, details: boolean('details', false),
  };
}

/** A value as a message quotes it, cut to 60 characters. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
