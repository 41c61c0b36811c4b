import { describe, expect, it } from 'vitest';
import { SuccessiveHalving } from '../../bin/cli/tune/successive-halving.ts';

describe('asynchronous successive halving', () => {
  it('has rungs at minEpoch * eta^k', () => {
    const halving = new SuccessiveHalving({ goal: 'minimize', eta: 3, minEpoch: 1 });
    expect([1, 2, 3, 4, 9, 10, 27, 81].filter((e) => halving.isRung(e))).toEqual([1, 3, 9, 27, 81]);
  });

  it('stops a trial behind the best third at a rung, once eta trials reached it, and never between rungs', () => {
    const halving = new SuccessiveHalving({ goal: 'minimize', eta: 3, minEpoch: 1 });
    // Too few to rank: the first two at a rung go on whatever their loss.
    expect(halving.report(1, 1, 0.5)).toBe(true);
    expect(halving.report(2, 1, 0.9)).toBe(true);
    // Third at rung 1: keep floor(3/3) = 1, and trial 1 is better.
    expect(halving.report(3, 1, 0.7)).toBe(false);
    expect(halving.report(4, 1, 0.4)).toBe(true);
    expect(halving.report(4, 2, 5)).toBe(true);
    // Six at the rung: the best two go on.
    halving.report(5, 1, 0.45);
    expect(halving.report(6, 1, 0.46)).toBe(false);
    expect(halving.report(8, 1, 0.42)).toBe(true);
    expect(halving.report(7, 1, Number.NaN)).toBe(false);
  });

  it('ranks by the goal: for accuracy, higher is better', () => {
    const halving = new SuccessiveHalving({ goal: 'maximize', eta: 3, minEpoch: 1 });
    halving.report(1, 3, 0.9);
    halving.report(2, 3, 0.8);
    expect(halving.report(3, 3, 0.95)).toBe(true);
    expect(halving.report(4, 3, 0.85)).toBe(false);
  });
});
