/**
 * Continuous batching: many generations share decoder runs. Each request is a
 * GenerationSequence (generation.ts) whose tokens come out of its own async iterator, as
 * generateTokens' do; one loop steps them together:
 *
 *     between steps   drop the rows whose readers stopped; admit waiting requests while the
 *                     bounds allow; prefill the new prompts (and the rows whose window slid)
 *                     together, left-padded in runs of similar length, and pack their caches
 *                     into the batch (batch-cache.ts)
 *     one step        one new token per row, one session run for the whole batch
 *     after it        each row's logits go to its own sequence; finished rows leave
 *
 * Every choice a sequence makes (draws from its own seed, stop sequences, text) happens in
 * GenerationSequence from its own row's logits, so a batched request gets the tokens it would
 * get alone (up to float rounding in the batched matmuls).
 *
 * Bounds: at most `maxSequences` sequences run at once, and their reserved positions (prompt
 * plus max_new_tokens, within the context) total at most `maxTokens`. Past them requests wait
 * in a queue of at most `maxQueued`; past that, a request is refused with SchedulerFullError,
 * naming the bound that was hit.
 *
 * A prefill run is bounded by its padded size, rows x longest window, at most
 * `maxPrefillPositions` (the context length, when that is more: one full window must always
 * run). The run's logits are (B, Tmax, V) float32, the largest tensor it makes: the default 2048
 * positions of GPT-2's 50257-word vocabulary are 412 MB, twice what one full 1024-position
 * window alone makes. A run also takes no window that would make padding more than half of it
 * (rows x longest > 2 x real tokens): such a long prompt among short ones runs apart, so the short
 * ones do not pay for its length.
 *
 * A model without position_ids (model.onnx exported before it had one) cannot be padded:
 * its rows prefill and step one at a time, still interleaved and bounded.
 *
 * Each step's time is measured (admission-estimate.ts): a refusal carries the seconds until the
 * queue's head would be admitted, for Retry-After.
 */
import { StepTime, stepsUntilRoom } from './admission-estimate.ts';
import { batchRow, packRows, type BatchCache, type CacheRow } from './batch-cache.ts';
import type { CausalDecoder, KvCache } from './generation-decoder.ts';
import { GenerationRequestError, GenerationSequence, type GeneratedToken, type GenerationResult, type GenerationSettings } from './generation.ts';
import type { Tokenizer } from '../text/tokenizer.ts';

export interface SchedulerLimits {
  /** Sequences generating at once (rows of the batch). */
  readonly maxSequences: number;
  /** Positions reserved by the running sequences together (what their caches can grow to). */
  readonly maxTokens: number;
  /** Requests waiting for room; past it they are refused. */
  readonly maxQueued: number;
  /** Padded positions (rows x longest window) of one prefill run, or the context length when more. @default DEFAULT_MAX_PREFILL_POSITIONS */
  readonly maxPrefillPositions?: number;
}

/** Bounds a prefill run's (B, Tmax, V) logits: the file comment says why this size. */
export const DEFAULT_MAX_PREFILL_POSITIONS = 2048;

export interface SchedulerOptions {
  /** Monotonic seconds, to time the steps with. @default performance.now() / 1000 */
  readonly now?: () => number;
}

/** A request refused because the running batch and its queue are full. */
export class SchedulerFullError extends Error {
  constructor(
    /** The bound that kept the request out of the batch. */
    readonly limit: 'sequences' | 'tokens',
    readonly running: number,
    readonly reservedTokens: number,
    readonly queued: number,
    readonly limits: SchedulerLimits,
    /** Estimated seconds until the queue's head (or this request, when nothing may queue) is admitted; null before any step was timed. */
    readonly waitSeconds: number | null,
  ) {
    super(
      limit === 'sequences'
        ? `${running} sequences are generating (at most ${limits.maxSequences}) and ${queued} requests wait (at most ${limits.maxQueued})`
        : `the running sequences reserve ${reservedTokens} cached tokens (at most ${limits.maxTokens}) and ${queued} requests wait (at most ${limits.maxQueued})`,
    );
    this.name = 'SchedulerFullError';
  }
}

type Event = { readonly token: GeneratedToken } | { readonly result: GenerationResult } | { readonly error: unknown };

/** One request: its sequence, where its row is, and the events its reader has not taken yet. */
class Entry {
  readonly events: Event[] = [];
  private wake: (() => void) | null = null;
  /** Its reader stopped (a client gone): the row leaves at the next step boundary. */
  cancelled = false;
  /** Its own cache, when rows step one at a time. */
  cache: KvCache | null = null;

  constructor(readonly sequence: GenerationSequence) {}

  get reserved(): number {
    return this.sequence.reservedPositions;
  }

  push(event: Event): void {
    this.events.push(event);
    this.wake?.();
    this.wake = null;
  }

  async next(): Promise<Event> {
    while (this.events.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.events.shift()!;
  }
}

export class GenerationScheduler {
  private readonly waiting: Entry[] = [];
  /** Admitted, awaiting their one pass over the window (new, or their window slid). */
  private pending: Entry[] = [];
  /** Admitted and stepping: the batch's rows, in its order. */
  private rows: Entry[] = [];
  /** The rows' cache, when the model takes position_ids (null while there are no rows). */
  private batch: BatchCache | null = null;
  private looping = false;
  private readonly stepTime = new StepTime();
  private readonly now: () => number;

  constructor(
    private readonly decoder: CausalDecoder,
    private readonly tokenizer: Tokenizer,
    readonly limits: SchedulerLimits,
    options: SchedulerOptions = {},
  ) {
    this.now = options.now ?? ((): number => performance.now() / 1000);
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < (name === 'maxQueued' ? 0 : 1)) throw new Error(`generation scheduler: ${name} must be a whole number >= ${name === 'maxQueued' ? 0 : 1}, got ${value}`);
    }
  }

  /** Sequences admitted, not finished and still read (a stopped one leaves at the next step boundary). */
  get running(): number {
    return [...this.rows, ...this.pending].filter((e) => !e.cancelled).length;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Positions reserved by the running sequences. */
  get reservedTokens(): number {
    return [...this.rows, ...this.pending].reduce((sum, e) => sum + (e.cancelled ? 0 : e.reserved), 0);
  }

  /**
   * The request's tokens as they come, as generateTokens would yield them. The request is
   * checked now (GenerationRequestError); it joins the batch, or the queue, when the iterator is
   * first pulled, and SchedulerFullError comes from that first pull. Stopping the iterator
   * (return) takes the request out of the batch or the queue. The batch always keeps the KV
   * cache: settings.useCache is not consulted.
   */
  generate(promptIds: readonly number[], settings: GenerationSettings): AsyncGenerator<GeneratedToken, GenerationResult, undefined> {
    const sequence = new GenerationSequence(this.tokenizer, promptIds, settings, this.decoder.shape.contextLength);
    if (sequence.reservedPositions > this.limits.maxTokens) {
      throw new GenerationRequestError(
        `the prompt (${promptIds.length} tokens) plus max_new_tokens (${settings.maxNewTokens}) reserve ${sequence.reservedPositions} cached tokens, more than the server holds for all sequences together (${this.limits.maxTokens})`,
      );
    }
    return this.tokensOf(new Entry(sequence));
  }

  private async *tokensOf(entry: Entry): AsyncGenerator<GeneratedToken, GenerationResult, undefined> {
    this.enqueue(entry);
    let ended = false;
    try {
      for (;;) {
        const event = await entry.next();
        if ('error' in event) {
          ended = true;
          throw event.error;
        }
        if ('result' in event) {
          ended = true;
          return event.result;
        }
        yield event.token;
      }
    } finally {
      if (!ended) this.cancel(entry);
    }
  }

  private enqueue(entry: Entry): void {
    if (this.waiting.length === 0 && this.fits(entry)) {
      this.pending.push(entry);
    } else if (this.waiting.length < this.limits.maxQueued) {
      this.waiting.push(entry);
    } else {
      const limit = this.running >= this.limits.maxSequences ? 'sequences' : 'tokens';
      throw new SchedulerFullError(limit, this.running, this.reservedTokens, this.waiting.length, this.limits, this.waitSeconds(this.waiting[0] ?? entry));
    }
    if (!this.looping) {
      // From the next turn of the event loop: requests that arrive in this one (a burst, or a
      // request's list of prompts) are then pending together and share one prefill.
      this.looping = true;
      setImmediate(() => void this.loop());
    }
  }

  /** Seconds until `entry`, first in line, is admitted (admission-estimate.ts); null before any step was timed. */
  private waitSeconds(entry: Entry): number | null {
    const stepSeconds = this.stepTime.seconds;
    if (stepSeconds === null) return null;
    const rows = [...this.rows, ...this.pending].filter((e) => !e.cancelled).map((e) => ({ stepsLeft: e.sequence.remainingNewTokens, reserved: e.reserved }));
    return stepSeconds * stepsUntilRoom(rows, entry.reserved, this.limits);
  }

  private fits(entry: Entry): boolean {
    return this.running < this.limits.maxSequences && this.reservedTokens + entry.reserved <= this.limits.maxTokens;
  }

  private cancel(entry: Entry): void {
    entry.cancelled = true;
    const queuedAt = this.waiting.indexOf(entry);
    if (queuedAt >= 0) this.waiting.splice(queuedAt, 1);
  }

  private async loop(): Promise<void> {
    try {
      while (this.running > 0 || this.waiting.length > 0) {
        try {
          await this.tick();
        } catch (error) {
          // The decoder failed: every running request ends with the error; the queue goes on.
          for (const entry of [...this.rows, ...this.pending]) entry.push({ error });
          this.rows = [];
          this.pending = [];
          this.batch = null;
        }
      }
    } finally {
      this.looping = false;
    }
  }

  private async tick(): Promise<void> {
    this.pending = this.pending.filter((e) => !e.cancelled);
    this.removeRows((e) => e.cancelled);
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!)) this.pending.push(this.waiting.shift()!);
    const started = this.now();
    const runsBefore = this.decoder.steps;

    // New prompts, and rows whose window slid, get their first pass, then join the batch: in
    // padded runs when the model takes position_ids, else alone. Each stays pending until its
    // pass is done, so a failing pass reaches it too.
    while (this.pending.length > 0) {
      const run = this.decoder.takesPositionIds ? prefillRun(this.pending.map((e) => e.sequence.window.length), this.maxPrefillPositions) : [0];
      const entries = run.map((i) => this.pending[i]!);
      if (this.decoder.takesPositionIds) {
        const step = await this.decoder.prefillBatch(entries.map((e) => e.sequence.window));
        this.pending = this.pending.filter((e) => !entries.includes(e));
        entries.forEach((entry, r) => this.deliver(entry, step.logits[r]!));
        this.join(entries.flatMap((entry, r) => (entry.sequence.done || entry.cancelled ? [] : [{ entry, row: batchRow(step.cache, r) }])));
      } else {
        const entry = entries[0]!;
        const step = await this.decoder.step(entry.sequence.window, this.decoder.emptyCache());
        this.pending.shift();
        this.deliver(entry, step.logits);
        if (!entry.sequence.done && !entry.cancelled) {
          entry.cache = step.cache;
          this.rows.push(entry);
        }
      }
    }

    // A row whose next position needs the window to slide leaves, to be rebuilt next tick.
    this.pending.push(...this.removeRows((e) => e.sequence.slideWindow()));
    if (this.rows.length > 0) {
      const next = this.rows.map((e) => e.sequence.window.at(-1)!);
      if (this.decoder.takesPositionIds) {
        const step = await this.decoder.stepBatch(next, this.batch!);
        this.batch = step.cache;
        this.rows.forEach((entry, r) => this.deliver(entry, step.logits[r]!));
      } else {
        for (const [r, entry] of this.rows.entries()) {
          const step = await this.decoder.step([next[r]!], entry.cache!);
          entry.cache = step.cache;
          this.deliver(entry, step.logits);
        }
      }
      this.removeRows((e) => e.sequence.done || e.cancelled);
    }
    // A tick gives every row one token: its time is what each token left costs.
    if (this.decoder.steps > runsBefore) this.stepTime.record(this.now() - started);
  }

  private get maxPrefillPositions(): number {
    return Math.max(this.limits.maxPrefillPositions ?? DEFAULT_MAX_PREFILL_POSITIONS, this.decoder.shape.contextLength);
  }

  /** The sequence's choice from its logits, handed to its reader (none once it stopped reading). */
  private deliver(entry: Entry, logits: Float32Array): void {
    if (entry.cancelled) return;
    const token = entry.sequence.accept(logits);
    entry.push({ token });
    if (entry.sequence.done) entry.push({ result: entry.sequence.result });
  }

  /** Prefilled rows become the batch's last ones; packing trims the columns only padding held. */
  private join(joining: readonly { readonly entry: Entry; readonly row: CacheRow }[]): void {
    if (joining.length === 0) return;
    const kept: CacheRow[] = this.rows.map((_, r) => batchRow(this.batch!, r));
    this.batch = packRows([...kept, ...joining.map(({ row }) => row)], this.decoder.shape);
    this.rows.push(...joining.map(({ entry }) => entry));
  }

  /** Takes the rows `leaves` picks out of the batch and returns them; repacking drops the columns only their padding occupied. */
  private removeRows(leaves: (entry: Entry) => boolean): Entry[] {
    const gone = this.rows.filter(leaves);
    if (gone.length === 0) return gone;
    const batch = this.batch;
    const kept = this.rows.flatMap((e, r) => (gone.includes(e) ? [] : [{ entry: e, row: r }]));
    if (batch !== null) this.batch = kept.length === 0 ? null : packRows(kept.map(({ row }) => batchRow(batch, row)), this.decoder.shape);
    this.rows = kept.map(({ entry }) => entry);
    for (const entry of gone) entry.cache = null;
    return gone;
  }
}

/**
 * Which windows (by index into `lengths`) run together in the next prefill pass: the shortest
 * ones, up to the padded size `maxPositions` (rows x longest) and while padding stays at most
 * half the run. Always at least one, so a window as long as the bound still runs.
 */
export function prefillRun(lengths: readonly number[], maxPositions: number): number[] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const run = [order[0]!];
  let real = lengths[order[0]!]!;
  for (const i of order.slice(1)) {
    const longest = lengths[i]!; // ascending: the newcomer is the longest
    const padded = (run.length + 1) * longest;
    if (padded > maxPositions || padded > 2 * (real + longest)) break;
    run.push(i);
    real += longest;
  }
  return run;
}
