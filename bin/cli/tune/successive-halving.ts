/**
 * Asynchronous successive halving (ASHA, Li et al. 2018): rungs at epochs r, r*eta, r*eta^2, ...
 * A trial that reaches a rung is compared with every trial that reached it before; it goes on only
 * while it is among the best 1/eta of them. Nothing waits for a rung to fill, so P trials keep
 * running; until eta trials have reached a rung, none is stopped there (too few to rank).
 */
import { isBetter, type ObjectiveGoal } from '../../../model-runtime/src/contract/objective.ts';

export interface HalvingOptions {
  readonly goal: ObjectiveGoal;
  /** Reduction factor: the share kept at each rung is 1/eta. */
  readonly eta: number;
  /** The first rung's epoch. */
  readonly minEpoch: number;
}

export const DEFAULT_HALVING = { eta: 3, minEpoch: 1 } as const;

export class SuccessiveHalving {
  /** rung epoch -> the objective of each trial that reached it (best so far at that epoch). */
  private readonly rungs = new Map<number, Map<number, number>>();

  constructor(private readonly options: HalvingOptions) {
    if (!(options.eta >= 2)) throw new Error(`successive halving needs eta >= 2, got ${options.eta}`);
  }

  /** Whether `epoch` is a rung: minEpoch * eta^k. */
  isRung(epoch: number): boolean {
    for (let rung = this.options.minEpoch; rung <= epoch; rung *= this.options.eta) if (rung === epoch) return true;
    return false;
  }

  /**
   * Records a trial's objective (its best so far) at `epoch`; returns false when the trial should
   * stop: it reached a rung worse than the top 1/eta of the trials recorded there.
   */
  report(trial: number, epoch: number, objective: number): boolean {
    if (!this.isRung(epoch)) return true;
    // A diverged trial (NaN, Infinity) ranks below every other.
    if (!Number.isFinite(objective)) return false;
    const rung = this.rungs.get(epoch) ?? new Map<number, number>();
    this.rungs.set(epoch, rung);
    rung.set(trial, objective);
    if (rung.size < this.options.eta) return true;
    const keep = Math.max(1, Math.floor(rung.size / this.options.eta));
    const better = [...rung.entries()].filter(([other, value]) => other !== trial && isBetter(this.options.goal, value, objective)).length;
    return better < keep;
  }
}
