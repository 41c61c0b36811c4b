/**
 * Picking the next token from one row of logits, as Hugging Face's generate() does: greedy
 * (the first largest logit) when do_sample is false; otherwise temperature, then top-k, then
 * top-p (nucleus) filtering, and a draw from what is left with a seeded uniform generator, so
 * the same seed gives the same continuation.
 */

export interface SamplingSettings {
  /** false: greedy, the other settings ignored. */
  readonly doSample: boolean;
  /** > 0; logits are divided by it (below 1 sharpens, above 1 flattens). */
  readonly temperature: number;
  /** Keep the k most likely tokens; 0 = no top-k filter. */
  readonly topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 = no filter. */
  readonly topP: number;
}

/** Why settings are unusable, or null when they are fine (the serving layer turns this into a 400). */
export function samplingSettingsProblem(s: SamplingSettings): string | null {
  if (!(s.temperature > 0) || !Number.isFinite(s.temperature)) return `temperature must be a number above 0, got ${s.temperature}`;
  if (!Number.isInteger(s.topK) || s.topK < 0) return `top_k must be a whole number >= 0 (0 = off), got ${s.topK}`;
  if (!(s.topP > 0 && s.topP <= 1)) return `top_p must be in (0, 1] (1 = off), got ${s.topP}`;
  return null;
}

/** Index of the first largest value. */
export function argMax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** ln softmax(logits)[id], shifted by the largest logit for stability. */
export function logProbability(logits: ArrayLike<number>, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += Math.exp(logits[i]! - max);
  return logits[id]! - max - Math.log(total);
}

/** The next token id. `random` returns uniform numbers in [0, 1). */
export function sampleToken(logits: ArrayLike<number>, settings: SamplingSettings, random: () => number): number {
  return chooseToken(logits, settings, random).id;
}

/**
 * The next token and its log-probability under the distribution it was chosen from, as TGI
 * reports it: greedy, the log-softmax of the logits; sampled, of the logits over temperature
 * with the tokens top-k and top-p removed (renormalised over those kept).
 */
export function chooseToken(logits: ArrayLike<number>, settings: SamplingSettings, random: () => number): { readonly id: number; readonly logprob: number } {
  if (!settings.doSample) {
    const id = argMax(logits);
    return { id, logprob: logProbability(logits, id) };
  }
  const problem = samplingSettingsProblem(settings);
  if (problem !== null) throw new Error(problem);
  const n = logits.length;
  // Candidates sorted by logit, largest first (ties by id, so the order is deterministic).
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
  const kept = settings.topK > 0 ? order.slice(0, Math.min(settings.topK, n)) : order;
  // Softmax of logit / temperature over the kept tokens, shifted by the largest before the
  // division, so a temperature near 0 (5e-324 is above 0) gives the top token weight 1 and the
  // rest 0 instead of infinity minus infinity.
  const top = logits[kept[0]!]!;
  const weights = kept.map((id) => Math.exp((logits[id]! - top) / settings.temperature));
  let total = weights.reduce((s, w) => s + w, 0);
  let count = kept.length;
  if (settings.topP < 1) {
    // The smallest prefix whose probability reaches top_p; at least one token.
    let cumulative = 0;
    count = 0;
    while (count < kept.length) {
      cumulative += weights[count]! / total;
      count++;
      if (cumulative >= settings.topP) break;
    }
    total = weights.slice(0, count).reduce((s, w) => s + w, 0);
  }
  const chosen = (i: number): { id: number; logprob: number } => ({ id: kept[i]!, logprob: Math.log(weights[i]! / total) });
  let r = random() * total;
  for (let i = 0; i < count; i++) {
    r -= weights[i]!;
    if (r < 0) return chosen(i);
  }
  return chosen(count - 1); // r landed on the rounding error at the very end
}
