import { describe, expect, it } from 'vitest';
import { minimizeLbfgs } from '../../../model-runtime/src/optim/lbfgs.ts';

describe('minimizeLbfgs', () => {
  it('finds the minimum of an ill-conditioned quadratic (scales 1 to 1e4)', async () => {
    const scales = [1, 10, 100, 1000, 10_000];
    const target = [3, -2, 0.5, 1, -0.25];
    const result = await minimizeLbfgs(
      async (x) => {
        const gradient = Float64Array.from(x, (v, i) => scales[i]! * (v - target[i]!));
        const loss = x.reduce((sum, v, i) => sum + 0.5 * scales[i]! * (v - target[i]!) ** 2, 0);
        return { loss, gradient };
      },
      new Float64Array(5),
      { maxIterations: 200, gradientTolerance: 1e-6 },
    );
    // Either the gradient is below tolerance or the loss stopped moving (1e-10 relative): both this close.
    expect(result.reason).not.toBe('max-iterations');
    expect(result.loss).toBeLessThan(1e-9);
    result.x.forEach((v, i) => expect(v).toBeCloseTo(target[i]!, 4));
  });

  it('walks the Rosenbrock valley to (1, 1)', async () => {
    const result = await minimizeLbfgs(
      async ([a, b]) => ({
        loss: (1 - a!) ** 2 + 100 * (b! - a! * a!) ** 2,
        gradient: Float64Array.of(-2 * (1 - a!) - 400 * a! * (b! - a! * a!), 200 * (b! - a! * a!)),
      }),
      Float64Array.of(-1.2, 1),
      { maxIterations: 500, gradientTolerance: 1e-6 },
    );
    expect(result.converged).toBe(true);
    expect(result.x[0]).toBeCloseTo(1, 4);
    expect(result.x[1]).toBeCloseTo(1, 4);
  });

  it('stops at the iteration limit and says so', async () => {
    let evaluations = 0;
    const result = await minimizeLbfgs(
      async ([a, b]) => {
        evaluations++;
        return { loss: (1 - a!) ** 2 + 100 * (b! - a! * a!) ** 2, gradient: Float64Array.of(-2 * (1 - a!) - 400 * a! * (b! - a! * a!), 200 * (b! - a! * a!)) };
      },
      Float64Array.of(-1.2, 1),
      { maxIterations: 3, gradientTolerance: 1e-12 },
    );
    expect(result).toMatchObject({ reason: 'max-iterations', iterations: 3, converged: false });
    expect(result.evaluations).toBe(evaluations);
  });
});
