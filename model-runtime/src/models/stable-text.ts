/**
 * A generation's text handed out only once it can no longer change: the tokens decode together
 * (a byte-level token can end inside a UTF-8 character), so text ending in an incomplete
 * character is held back, as is an end that could still be the start of a stop sequence.
 */
import type { Tokenizer } from '../text/tokenizer.ts';

/** The decoded continuation and how much of it has been handed out. */
export class StableText {
  private decoded = '';
  private emitted = 0;
  private stoppedAt: number | null = null;
  private readonly longestStop: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly stops: readonly string[],
  ) {
    this.longestStop = Math.max(0, ...stops.map((s) => s.length));
  }

  /** Everything final so far, and at the end everything. */
  get all(): string {
    return this.stoppedAt === null ? this.decoded.slice(0, this.emitted) : this.decoded.slice(0, this.stoppedAt);
  }

  push(ids: readonly number[]): { text: string; stopped: boolean } {
    const before = this.decoded.length;
    this.decoded = this.tokenizer.decode(ids);
    // Only the part a stop could newly end in needs searching.
    const from = Math.max(0, Math.min(before, this.emitted) - this.longestStop);
    let end: number | null = null;
    for (const stop of this.stops) {
      const at = this.decoded.indexOf(stop, from);
      if (at >= 0 && (end === null || at + stop.length < end)) end = at + stop.length;
    }
    if (end !== null) {
      this.stoppedAt = end;
      const out = this.decoded.slice(this.emitted, end);
      this.emitted = end;
      return { text: out, stopped: true };
    }
    let safe = this.decoded.length;
    // An incomplete UTF-8 character at the end decodes to U+FFFD until its last byte arrives.
    while (safe > this.emitted && this.decoded.charCodeAt(safe - 1) === 0xfffd) safe--;
    safe -= this.heldForStop(safe);
    const out = safe > this.emitted ? this.decoded.slice(this.emitted, safe) : '';
    this.emitted = Math.max(this.emitted, safe);
    return { text: out, stopped: false };
  }

  /** Everything not handed out yet: the generation ended, nothing can change it now. */
  finish(): string {
    const out = this.decoded.slice(this.emitted);
    this.emitted = this.decoded.length;
    return out;
  }

  /** Length of the longest end of decoded[0, upTo) that begins some stop sequence. */
  private heldForStop(upTo: number): number {
    for (let k = Math.min(this.longestStop - 1, upTo - this.emitted); k > 0; k--) {
      const tail = this.decoded.slice(upTo - k, upTo);
      if (this.stops.some((s) => s.startsWith(tail))) return k;
    }
    return 0;
  }
}
