/**
 * How long until a request waiting for room in the continuous batch (generation-scheduler.ts)
 * is admitted: what a refused client is told to wait (serve/generation-batching.ts turns it into
 * Retry-After).
 *
 *     seconds = stepSeconds x stepsUntilRoom
 *
 * stepSeconds is an exponentially weighted mean of the scheduler's measured step times (one
 * step gives every running row one token, so a row with r new tokens left leaves within r
 * steps). stepsUntilRoom takes the running rows in the order they will leave at the latest
 * (fewest new tokens left first) until the sequences and tokens bounds leave room for the
 * request's reserved positions. Rows that end early (an end token, a stop sequence) only make
 * room sooner, so this is an upper estimate for the rows it counts; it does not count the
 * prefill passes of rows that join meanwhile.
 */

/** Weight of the newest step in the mean: about the last ten steps count. */
const NEWEST_WEIGHT = 0.2;

/** The exponentially weighted mean of measured step times, in seconds; null before the first. */
export class StepTime {
  private mean: number | null = null;

  record(seconds: number): void {
    this.mean = this.mean === null ? seconds : this.mean + NEWEST_WEIGHT * (seconds - this.mean);
  }

  get seconds(): number | null {
    return this.mean;
  }
}

/** A running (or admitted, not yet prefilled) row, as far as making room goes. */
export interface RowLeaving {
  /** Steps until it leaves at the latest: its new tokens left. */
  readonly stepsLeft: number;
  /** Positions it reserves until then. */
  readonly reserved: number;
}

/**
 * Steps until a request reserving `reserved` positions fits beside the rows still running, with
 * at most `maxSequences` rows reserving at most `maxTokens` positions together: 0 when it fits now.
 */
export function stepsUntilRoom(rows: readonly RowLeaving[], reserved: number, limits: { readonly maxSequences: number; readonly maxTokens: number }): number {
  const leaving = [...rows].sort((a, b) => a.stepsLeft - b.stepsLeft);
  let running = rows.length;
  let held = rows.reduce((sum, r) => sum + r.reserved, 0);
  const fits = (): boolean => running < limits.maxSequences && held + reserved <= limits.maxTokens;
  if (fits()) return 0;
  for (const row of leaving) {
    running--;
    held -= row.reserved;
    if (fits()) return row.stepsLeft;
  }
  // Not even an empty batch holds it (the scheduler refuses such a request up front).
  return leaving.at(-1)?.stepsLeft ?? 0;
}
