/**
 * A generation streamed as Hugging Face's TGI streams it: one JSON object per token,
 *
 *     {"index": 1, "token": {"id": 4, "text": "lo", "logprob": -0.02, "special": false}, "generated_text": null, "details": null}
 *
 * the last one carrying the whole `generated_text` and `details` (`finish_reason`: length,
 * eos_token or stop_sequence; `generated_tokens`; `seed`: TGI's StreamDetails, the fields a
 * non-streamed answer's details share, text-generation-details.ts). The eos token's line carries its own
 * text (GPT-2's "<|endoftext|>") with `special: true`, which generated_text leaves out, as TGI's
 * does: a client adds up the texts of the lines that are not special. Text the generation held
 * back until the eos came (the possible start of a stop sequence) goes out on a line of its own
 * just before it, so that sum is still the whole text. Framed as JSON Lines (one object a
 * line), or as Server-Sent Events (`data: {...}` and a blank line) when the client's Accept
 * asks for text/event-stream. A failure after the first token (the status is already sent)
 * ends the stream with `{"error": "...", "error_type": "..."}`, as TGI's does.
 *
 * The pieces are pulled from the generation's own iterator one at a time, and stopping the
 * iteration takes the generation out of the decoder's batch.
 */
import type { FinishReason, GeneratedToken, GenerationResult } from '../models/generation.ts';
import type { HttpError } from './http-error.ts';
import { EVENT_STREAM_TYPE, JSON_LINES_TYPE } from './media-types.ts';
import { TGI_FINISH_REASONS, type TgiToken } from './text-generation-details.ts';

export type StreamFraming = 'json-lines' | 'server-sent-events';

export const STREAM_CONTENT_TYPES: Readonly<Record<StreamFraming, string>> = {
  'json-lines': JSON_LINES_TYPE,
  'server-sent-events': EVENT_STREAM_TYPE,
};

export interface TgiStreamOptions {
  readonly framing: StreamFraming;
  /** Put before generated_text on the last line (return_full_text); '' otherwise. */
  readonly prefix: string;
  /** The seed the draws used, reported in details (null for greedy decoding, as TGI does). */
  readonly seed: number | null;
  /** A special token's own text (the tokenizer's decode of its id: "<|endoftext|>"). */
  readonly specialText: (id: number) => string;
}

export function frame(framing: StreamFraming, json: string): string {
  return framing === 'json-lines' ? `${json}\n` : `data: ${json}\n\n`;
}

/** One framed TGI object per token of `tokens`. */
export async function* tgiStream(tokens: AsyncGenerator<GeneratedToken, GenerationResult, undefined>, options: TgiStreamOptions): AsyncGenerator<string, void, undefined> {
  let index = 0;
  let generatedTokens = 0;
  let text = '';
  const line = (token: TgiToken, finishReason: FinishReason | undefined): string => {
    index++;
    const last = finishReason !== undefined;
    const object = {
      index,
      token,
      generated_text: last ? options.prefix + text : null,
      details: last ? { finish_reason: TGI_FINISH_REASONS[finishReason], generated_tokens: generatedTokens, seed: options.seed } : null,
    };
    return frame(options.framing, JSON.stringify(object));
  };
  for await (const token of tokens) {
    generatedTokens++;
    if (token.special) {
      // The held-back text is the ordinary text before the special token: it goes first, not special.
      if (token.text !== '') {
        text += token.text;
        yield line({ id: token.id, text: token.text, logprob: token.logprob, special: false }, undefined);
      }
      yield line({ id: token.id, text: options.specialText(token.id), logprob: token.logprob, special: true }, token.finishReason);
      continue;
    }
    text += token.text;
    yield line({ id: token.id, text: token.text, logprob: token.logprob, special: false }, token.finishReason);
  }
}

export function tgiStreamError(framing: StreamFraming, error: HttpError): string {
  return frame(framing, JSON.stringify({ error: error.message, error_type: error.type }));
}
