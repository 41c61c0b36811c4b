/**
 * The penalties TGI applies to a step's logits before temperature, top-k and top-p, each from
 * one sequence's own history (its prompt, after truncation, and the tokens it generated, those a
 * sliding window no longer shows the model included):
 *
 * - repetition_penalty (CTRL, transformers' RepetitionPenaltyLogitsProcessor): every id seen at
 *   least once has its logit divided by the penalty when positive, multiplied by it when
 *   negative, so a penalty above 1 always makes a seen token less likely; 1 = off.
 * - frequency_penalty (TGI's HeterogeneousFrequencyPenaltyLogitsProcessor, not OpenAI's raw
 *   count): the logit of each id loses penalty x (its count in the history / the history's
 *   length); 0 = off, negative values favour repeats.
 *
 * Repetition first, then frequency: TGI's order.
 */

export interface PenaltySettings {
  /** > 0; 1 = off. @default 1 */
  readonly repetitionPenalty?: number;
  /** In [-2, 2]; 0 = off. @default 0 */
  readonly frequencyPenalty?: number;
}

export const FREQUENCY_PENALTY_LIMIT = 2;

/**
 * repetition_penalty's range. TGI asks only for > 0, but a penalty of 1e-40 turns a logit of 10
 * into float32's infinity (and the step's log-softmax into NaN), and one of 1e40 sends every seen
 * token's to 0 or minus infinity; 0.01-100 keeps every penalised logit finite and covers what
 * clients send (1.0-2.0).
 */
export const REPETITION_PENALTY_RANGE = { min: 0.01, max: 100 } as const;
export const REPETITION_PENALTY_ALLOWED = `a number from ${REPETITION_PENALTY_RANGE.min} to ${REPETITION_PENALTY_RANGE.max} (1 = off)`;

export function repetitionPenaltyAllowed(v: number): boolean {
  return Number.isFinite(v) && v >= REPETITION_PENALTY_RANGE.min && v <= REPETITION_PENALTY_RANGE.max;
}

/** Why the penalties are unusable, or null (the serving layer turns this into a 400). */
export function penaltySettingsProblem(s: PenaltySettings): string | null {
  const repetition = s.repetitionPenalty ?? 1;
  const frequency = s.frequencyPenalty ?? 0;
  if (!repetitionPenaltyAllowed(repetition)) return `repetition_penalty must be ${REPETITION_PENALTY_ALLOWED}, got ${repetition}`;
  if (!(Math.abs(frequency) <= FREQUENCY_PENALTY_LIMIT)) return `frequency_penalty must be a number from -2 to 2 (0 = off), got ${frequency}`;
  return null;
}

export function penaltiesOn(s: PenaltySettings): boolean {
  return (s.repetitionPenalty ?? 1) !== 1 || (s.frequencyPenalty ?? 0) !== 0;
}

/** How often each id occurs in a sequence's history, kept up to date token by token. */
export class TokenCounts {
  private readonly counts = new Map<number, number>();
  private total = 0;

  constructor(ids: readonly number[]) {
    for (const id of ids) this.add(id);
  }

  add(id: number): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    this.total++;
  }

  get length(): number {
    return this.total;
  }

  entries(): IterableIterator<[number, number]> {
    return this.counts.entries();
  }
}

/** The step's logits (V) with the penalties applied: a copy, or the same array when both are off. */
export function penalizeLogits(logits: Float32Array, history: TokenCounts, s: PenaltySettings): Float32Array {
  if (!penaltiesOn(s) || history.length === 0) return logits;
  const repetition = s.repetitionPenalty ?? 1;
  const frequency = s.frequencyPenalty ?? 0;
  const out = Float32Array.from(logits);
  for (const [id, count] of history.entries()) {
    if (id < 0 || id >= out.length) continue;
    let v = out[id]!;
    if (repetition !== 1) v = v < 0 ? v * repetition : v / repetition;
    out[id] = v - frequency * (count / history.length);
  }
  return out;
}
