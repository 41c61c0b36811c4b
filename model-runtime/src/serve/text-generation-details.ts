/**
 * TGI's `details` beside a non-streamed answer (`"details": true`):
 *
 *     {"generated_text": "lo", "details": {"finish_reason": "length", "generated_tokens": 2, "seed": null,
 *      "prefill": [], "tokens": [{"id": 4, "text": "l", "logprob": -0.1, "special": false}, ...]}}
 *
 * One entry in `tokens` per generated token, the eos token included (its own text, "<|endoftext|>",
 * with `special: true`), so `generated_tokens` is their number; the texts of the entries that are
 * not special add up to the generated text (without return_full_text's prompt), as a stream's
 * lines do (text-generation-stream.ts). `prefill` is empty: the prompt's log-probabilities
 * (decoder_input_details) are not computed. `seed` is null for greedy decoding, as TGI reports it.
 * Field names and finish reasons are TGI's; logprob is GeneratedToken's (models/generation.ts).
 */
import type { FinishReason, GeneratedToken } from '../models/generation.ts';

/** TGI's names for why a generation ended. */
export const TGI_FINISH_REASONS: Readonly<Record<FinishReason, string>> = { length: 'length', eos: 'eos_token', stop: 'stop_sequence' };

/** A token as TGI reports it, in a stream's line or in details. */
export interface TgiToken {
  readonly id: number;
  readonly text: string;
  readonly logprob: number;
  readonly special: boolean;
}

export interface TgiDetails {
  readonly finish_reason: string;
  readonly generated_tokens: number;
  readonly seed: number | null;
  readonly prefill: readonly TgiToken[];
  readonly tokens: readonly TgiToken[];
}

/** Details of a generation from its tokens in order; `specialText` is a special token's own text. */
export function tgiDetails(generated: readonly GeneratedToken[], finishReason: FinishReason, seed: number | null, specialText: (id: number) => string): TgiDetails {
  const tokens: TgiToken[] = [];
  for (const token of generated) {
    if (token.special) {
      // Text held back until the eos came belongs to the tokens before it: the last one carries it.
      const previous = tokens.at(-1);
      if (token.text !== '' && previous !== undefined) tokens[tokens.length - 1] = { ...previous, text: previous.text + token.text };
      tokens.push({ id: token.id, text: specialText(token.id), logprob: token.logprob, special: true });
      continue;
    }
    tokens.push({ id: token.id, text: token.text, logprob: token.logprob, special: false });
  }
  return { finish_reason: TGI_FINISH_REASONS[finishReason], generated_tokens: generated.length, seed, prefill: [], tokens };
}
