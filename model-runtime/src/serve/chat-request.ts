/**
 * The chat request OpenAI's chat completions API defines, as TGI's Messages API and SageMaker's
 * LMI take it on /invocations:
 *
 *     {"messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."}],
 *      "max_tokens": 64, "temperature": 0.7, "top_p": 0.9, "seed": 1, "stop": ["\n\n"],
 *      "frequency_penalty": 0.5, "stream": true, "stream_options": {"include_usage": true}}
 *
 * mapped onto the generation settings the TGI request has (text-generation-request.ts):
 * - `max_tokens` (or `max_completion_tokens`, its newer name) is max_new_tokens; left out, it is
 *   generation_config.json's max_new_tokens, else the endpoint's limit (MODEL_RUNTIME_MAX_NEW_TOKENS),
 *   as TGI 3 generates up to its own bound;
 * - sampling follows TGI's Messages API: `temperature` 0 is greedy, any other temperature samples,
 *   and a request without one samples (OpenAI's default), at generation_config.json's temperature
 *   or 1. top_p, top_k and repetition_penalty a request cannot set (or leaves out) are
 *   generation_config.json's;
 * - `n` only 1, `logprobs` only false, `presence_penalty` only 0: other values are a 400 that says
 *   so, as are tools, response_format and logit_bias; `model` and `user` are accepted (the answer
 *   echoes `model`).
 * Messages are {role: system | user | assistant, content: string} (and OpenAI's optional `name`,
 * handed to the template); anything else is a 400 naming the message and the field.
 */
import type { GenerationDefaults } from '../models/generation-config.ts';
import { FREQUENCY_PENALTY_LIMIT } from '../models/penalties.ts';
import { CHAT_ROLES, type ChatMessage, type ChatRole } from '../text/chat-template.ts';
import { badRequest } from './http-error.ts';
import { describeValue, MAX_STOP_SEQUENCES, type TextGenerationParameters } from './text-generation-request.ts';

export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  readonly parameters: TextGenerationParameters;
  readonly stream: boolean;
  /** stream_options.include_usage: a last chunk with usage and no choices, as OpenAI sends it. */
  readonly includeUsage: boolean;
  /** The request's `model`, echoed in the answer; null when it sent none. */
  readonly model: string | null;
}

/** A body that is a chat request rather than TGI's {"inputs": ...}. */
export function isChatBody(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && 'messages' in body;
}

const KEYS = [
  'messages', 'model', 'user', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'seed', 'stop',
  'frequency_penalty', 'presence_penalty', 'stream', 'stream_options', 'n', 'logprobs', 'top_logprobs',
] as const;

/** OpenAI parameters this runtime cannot honour, each with the value that asks for nothing (undefined: none does). */
const UNSUPPORTED: Readonly<Record<string, { readonly harmless?: boolean | number; readonly what: string }>> = {
  n: { harmless: 1, what: 'several choices per request' },
  logprobs: { harmless: false, what: "the tokens' log-probabilities" },
  top_logprobs: { harmless: 0, what: 'the most likely alternatives of each token' },
  presence_penalty: { harmless: 0, what: 'a presence penalty (frequency_penalty is supported)' },
  tools: { what: 'tool calls' },
  tool_choice: { what: 'tool calls' },
  parallel_tool_calls: { what: 'tool calls' },
  response_format: { what: 'constrained (JSON schema) decoding' },
  logit_bias: { what: 'logit biases' },
};

export function parseChatRequest(body: Record<string, unknown>, maxNewTokensLimit: number, defaults: GenerationDefaults = {}): ChatRequest {
  for (const key of Object.keys(body)) {
    const unsupported = UNSUPPORTED[key];
    if (unsupported !== undefined) {
      if (body[key] === undefined || body[key] === null || body[key] === unsupported.harmless) continue;
      const off = unsupported.harmless === undefined ? 'leave it out' : `leave it out or send ${JSON.stringify(unsupported.harmless)}`;
      throw badRequest(`${key} is not supported by this endpoint (${unsupported.what}), got ${describeValue(body[key])}; ${off}`);
    }
    if (!(KEYS as readonly string[]).includes(key)) throw badRequest(`unknown key ${JSON.stringify(key)} in the chat request; it takes ${KEYS.join(', ')}`);
  }
  const given = (key: string): boolean => body[key] !== undefined && body[key] !== null;
  const number = (key: string, ok: (v: number) => boolean, allowed: string): number | null => {
    if (!given(key)) return null;
    const v = body[key];
    if (typeof v !== 'number' || !ok(v)) throw badRequest(`${key} must be ${allowed}, got ${describeValue(v)}`);
    return v;
  };
  const whole = (min: number, max: number) => (v: number): boolean => Number.isInteger(v) && v >= min && v <= max;

  const stream = given('stream') ? body.stream : false;
  if (typeof stream !== 'boolean') throw badRequest(`stream must be true or false, got ${describeValue(stream)}`);
  const includeUsage = streamOptions(body.stream_options, stream);
  const model = given('model') ? body.model : null;
  if (model !== null && typeof model !== 'string') throw badRequest(`model must be a string, got ${describeValue(model)}`);
  if (given('user') && typeof body.user !== 'string') throw badRequest(`user must be a string, got ${describeValue(body.user)}`);

  const tokensAllowed = `a whole number from 1 to ${maxNewTokensLimit} (this endpoint's limit)`;
  const maxTokens = number('max_tokens', whole(1, maxNewTokensLimit), tokensAllowed);
  const maxCompletionTokens = number('max_completion_tokens', whole(1, maxNewTokensLimit), tokensAllowed);
  if (maxTokens !== null && maxCompletionTokens !== null && maxTokens !== maxCompletionTokens) {
    throw badRequest(`max_tokens (${maxTokens}) and max_completion_tokens (${maxCompletionTokens}) disagree; send one of them`);
  }
  const temperature = number('temperature', (v) => v >= 0 && v <= 2, 'a number from 0 to 2 (0 = greedy)');
  const topP = number('top_p', (v) => v > 0 && v <= 1, 'a number in (0, 1]');
  const seed = number('seed', whole(0, 2 ** 32 - 1), 'a whole number from 0 to 4294967295');
  const frequencyPenalty = number('frequency_penalty', (v) => v >= -FREQUENCY_PENALTY_LIMIT && v <= FREQUENCY_PENALTY_LIMIT, 'a number from -2 to 2 (0 = off)');

  // TGI's Messages API: temperature 0 asks for greedy decoding, anything else (nothing included) samples.
  const chosenTemperature = temperature ?? defaults.temperature ?? 1;
  const doSample = chosenTemperature > 0;
  return {
    messages: parseMessages(body.messages),
    parameters: {
      maxNewTokens: maxTokens ?? maxCompletionTokens ?? Math.min(defaults.maxNewTokens ?? maxNewTokensLimit, maxNewTokensLimit),
      temperature: doSample ? chosenTemperature : 1,
      topK: defaults.topK ?? 0,
      topP: topP ?? defaults.topP ?? 1,
      doSample,
      seed,
      stop: parseStop(body.stop),
      returnFullText: false,
      repetitionPenalty: defaults.repetitionPenalty ?? 1,
      frequencyPenalty: frequencyPenalty ?? 0,
      truncate: null,
      details: false,
    },
    stream,
    includeUsage,
    model,
  };
}

function parseMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw badRequest(`messages must be a non-empty list of {"role", "content"}, got ${describeValue(value)}`);
  return value.map((message: unknown, i): ChatMessage => {
    const at = `messages[${i}]`;
    if (typeof message !== 'object' || message === null || Array.isArray(message)) throw badRequest(`${at} must be an object {"role", "content"}, got ${describeValue(message)}`);
    const m = message as Record<string, unknown>;
    const extra = Object.keys(m).find((k) => k !== 'role' && k !== 'content' && k !== 'name');
    if (extra !== undefined) throw badRequest(`${at} has ${JSON.stringify(extra)}; a message has role, content and optionally name`);
    if (m.role === undefined) throw badRequest(`${at}.role is missing; it must be one of ${CHAT_ROLES.join(', ')}`);
    if (typeof m.role !== 'string' || !(CHAT_ROLES as readonly string[]).includes(m.role)) throw badRequest(`${at}.role must be one of ${CHAT_ROLES.join(', ')}, got ${describeValue(m.role)}`);
    if (typeof m.content !== 'string') throw badRequest(`${at}.content must be a string (the message's text), got ${describeValue(m.content)}`);
    if (m.name !== undefined && typeof m.name !== 'string') throw badRequest(`${at}.name must be a string, got ${describeValue(m.name)}`);
    return { role: m.role as ChatRole, content: m.content, ...(m.name === undefined ? {} : { name: m.name as string }) };
  });
}

function parseStop(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length > MAX_STOP_SEQUENCES || !list.every((s) => typeof s === 'string' && s.length > 0)) {
    throw badRequest(`stop must be a non-empty string or a list of at most ${MAX_STOP_SEQUENCES} of them, got ${describeValue(value)}`);
  }
  return list as string[];
}

function streamOptions(value: unknown, stream: boolean): boolean {
  if (value === undefined || value === null) return false;
  if (!stream) throw badRequest('stream_options is for a streamed answer: send it with "stream": true');
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(`stream_options must be an object {"include_usage": true}, got ${describeValue(value)}`);
  const options = value as Record<string, unknown>;
  const extra = Object.keys(options).find((k) => k !== 'include_usage');
  if (extra !== undefined) throw badRequest(`stream_options has ${JSON.stringify(extra)}; it takes include_usage`);
  const include = options.include_usage ?? false;
  if (typeof include !== 'boolean') throw badRequest(`stream_options.include_usage must be true or false, got ${describeValue(include)}`);
  return include;
}
