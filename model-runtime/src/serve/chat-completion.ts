/**
 * A generation answered in OpenAI's chat completion shape, as TGI's Messages API and LMI answer:
 *
 *     {"id": "chatcmpl-...", "object": "chat.completion", "created": 1764670000, "model": "gpt2",
 *      "choices": [{"index": 0, "message": {"role": "assistant", "content": "..."},
 *                   "logprobs": null, "finish_reason": "stop"}],
 *      "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}}
 *
 * or, streamed, as Server-Sent Events of `chat.completion.chunk` objects: a first delta with the
 * role, one per piece of text, a last one with the finish_reason and an empty delta, a chunk
 * with `usage` and no choices when stream_options.include_usage asks, then `data: [DONE]`.
 *
 * finish_reason is OpenAI's: "stop" when the model's eos token or a stop sequence ended the
 * generation, "length" when max_tokens did; and as OpenAI's, the content leaves a stop sequence
 * out (TGI's `generated_text` keeps it). completion_tokens counts every generated token, the eos
 * among them, as TGI's generated_tokens does.
 */
import { randomUUID } from 'node:crypto';
import type { FinishReason, GeneratedToken, GenerationResult } from '../models/generation.ts';
import { frame } from './text-generation-stream.ts';

export interface ChatCompletionIdentity {
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  readonly model: string;
}

export function chatCompletionIdentity(model: string): ChatCompletionIdentity {
  return { id: `chatcmpl-${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000), model };
}

export interface ChatUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

export type ChatFinishReason = 'stop' | 'length';

function finishReason(reason: FinishReason): ChatFinishReason {
  return reason === 'length' ? 'length' : 'stop';
}

const usage = (promptTokens: number, completionTokens: number): ChatUsage => ({ prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens });

/** `text` without the stop sequence it ends in, when a stop sequence ended it (the generation keeps it; OpenAI's content does not). */
function withoutStop(text: string, reason: FinishReason | undefined, stops: readonly string[]): string {
  if (reason !== 'stop') return text;
  const stop = stops.filter((s) => text.endsWith(s)).sort((a, b) => b.length - a.length)[0];
  return stop === undefined ? text : text.slice(0, text.length - stop.length);
}

/** The whole generation's answer; `generatedTokens` counts the eos token too. */
export function chatCompletion(identity: ChatCompletionIdentity, result: GenerationResult, generatedTokens: number, promptTokens: number, stops: readonly string[]): object {
  return {
    id: identity.id,
    object: 'chat.completion',
    created: identity.created,
    model: identity.model,
    choices: [{ index: 0, message: { role: 'assistant', content: withoutStop(result.text, result.finishReason, stops) }, logprobs: null, finish_reason: finishReason(result.finishReason) }],
    usage: usage(promptTokens, generatedTokens),
  };
}

export interface ChatStreamOptions {
  readonly promptTokens: number;
  readonly stops: readonly string[];
  readonly includeUsage: boolean;
}

/**
 * The generation's tokens as chunk events. The first token is pulled before anything is sent, so
 * a refusal at joining the batch (a 429) is still answered with its status.
 */
export async function* chatCompletionStream(tokens: AsyncGenerator<GeneratedToken, GenerationResult, undefined>, identity: ChatCompletionIdentity, options: ChatStreamOptions): AsyncGenerator<string, void, undefined> {
  const chunk = (choices: readonly object[], extra: object = {}): string => frame('server-sent-events', JSON.stringify({ id: identity.id, object: 'chat.completion.chunk', created: identity.created, model: identity.model, choices, ...extra }));
  const delta = (content: object, reason: ChatFinishReason | null): string => chunk([{ index: 0, delta: content, logprobs: null, finish_reason: reason }]);
  let generated = 0;
  let first = true;
  for await (const token of tokens) {
    if (first) {
      yield delta({ role: 'assistant', content: '' }, null);
      first = false;
    }
    generated++;
    // The eos token's own text (GPT-2's <|endoftext|>) is no content; text held back until it came is.
    const text = withoutStop(token.text, token.finishReason, options.stops);
    if (text !== '') yield delta({ content: text }, null);
    if (token.finishReason !== undefined) yield delta({}, finishReason(token.finishReason));
  }
  if (options.includeUsage) yield chunk([], { usage: usage(options.promptTokens, generated) });
  yield frame('server-sent-events', '[DONE]');
}
