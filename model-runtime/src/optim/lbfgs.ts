/**
 * Limited-memory BFGS (Nocedal & Wright, Numerical Optimization, algorithms 7.4 and 7.5) for a
 * smooth objective over one flat parameter vector: what scikit-learn's LogisticRegression runs
 * (scipy's L-BFGS-B without bounds) to convergence on the whole training set.
 *
 *   d = -H g              two-loop recursion over the last `memory` (s, y) pairs, H0 = (s.y / y.y) I
 *   x <- x + t d          backtracking line search: the first t in 1, 1/2, 1/4, ... with
 *                         f(x + t d) <= f(x) + 1e-4 t g.d (Armijo); the first step is scaled to 1 / |g|
 *   stop                  when max |g| <= gradientTolerance, the objective stops moving, or after maxIterations
 *
 * The objective is evaluated by the caller (here: ONNX Runtime over the training rows), so this
 * file is the pure numerics, in float64.
 */

export interface LossAndGradient {
  readonly loss: number;
  /** Same length as the parameters. */
  readonly gradient: Float64Array;
}

export type Objective = (x: Float64Array) => Promise<LossAndGradient>;

export interface LbfgsOptions {
  readonly maxIterations: number;
  /** Converged when the largest gradient component is at most this. */
  readonly gradientTolerance: number;
  /** (s, y) pairs kept for the inverse-Hessian estimate (scipy's default is 10). */
  readonly memory?: number;
  /** Called after every accepted step, e.g. to log progress. */
  readonly onIteration?: (iteration: number, loss: number, gradientMax: number) => void;
}

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly loss: number;
  readonly iterations: number;
  /** Objective evaluations, line-search trials included. */
  readonly evaluations: number;
  readonly converged: boolean;
  /** Why it stopped, for the log. */
  readonly reason: 'gradient' | 'no-progress' | 'max-iterations';
}

const ARMIJO = 1e-4;
const MAX_BACKTRACKS = 30;
/** Relative change of the objective below which float32 evaluation cannot tell steps apart. */
const RELATIVE_LOSS_TOLERANCE = 1e-10;

export async function minimizeLbfgs(objective: Objective, start: Float64Array, options: LbfgsOptions): Promise<LbfgsResult> {
  const memory = options.memory ?? 10;
  const n = start.length;
  let x: Float64Array = Float64Array.from(start);
  let current = await objective(x);
  let evaluations = 1;
  const history: { s: Float64Array; y: Float64Array; rho: number }[] = [];

  for (let iteration = 0; iteration < options.maxIterations; iteration++) {
    const gMax = maxAbs(current.gradient);
    if (gMax <= options.gradientTolerance) return done('gradient', iteration);

    // Two-loop recursion: direction = -H g.
    const q = Float64Array.from(current.gradient);
    const alphas: number[] = [];
    for (let i = history.length - 1; i >= 0; i--) {
      const { s, y, rho } = history[i]!;
      const alpha = rho * dot(s, q);
      alphas[i] = alpha;
      axpy(-alpha, y, q);
    }
    const last = history.at(-1);
    const gamma = last ? dot(last.s, last.y) / dot(last.y, last.y) : 1 / Math.max(norm(current.gradient), 1e-12);
    scale(gamma, q);
    for (let i = 0; i < history.length; i++) {
      const { s, y, rho } = history[i]!;
      const beta = rho * dot(y, q);
      axpy(alphas[i]! - beta, s, q);
    }
    const direction = q.map((v) => -v);
    let slope = dot(current.gradient, direction);
    if (!(slope < 0)) {
      // The estimate lost positive-definiteness (float32 noise): restart from steepest descent.
      history.length = 0;
      direction.set(current.gradient.map((v) => -v / Math.max(norm(current.gradient), 1e-12)));
      slope = dot(current.gradient, direction);
    }

    let step = 1;
    let accepted: { x: Float64Array; value: LossAndGradient } | null = null;
    for (let k = 0; k < MAX_BACKTRACKS; k++) {
      const trial = Float64Array.from(x);
      axpy(step, direction, trial);
      const value = await objective(trial);
      evaluations++;
      if (Number.isFinite(value.loss) && value.loss <= current.loss + ARMIJO * step * slope) {
        accepted = { x: trial, value };
        break;
      }
      step /= 2;
    }
    if (accepted === null) return done('no-progress', iteration);

    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = accepted.x[i]! - x[i]!;
      y[i] = accepted.value.gradient[i]! - current.gradient[i]!;
    }
    const sy = dot(s, y);
    // Keep only pairs with positive curvature, so H stays positive definite.
    if (sy > 1e-12 * dot(y, y)) {
      history.push({ s, y, rho: 1 / sy });
      if (history.length > memory) history.shift();
    }
    const previousLoss = current.loss;
    x = accepted.x;
    current = accepted.value;
    options.onIteration?.(iteration + 1, current.loss, maxAbs(current.gradient));
    if (Math.abs(previousLoss - current.loss) <= RELATIVE_LOSS_TOLERANCE * Math.max(1, Math.abs(previousLoss))) {
      return done(maxAbs(current.gradient) <= options.gradientTolerance ? 'gradient' : 'no-progress', iteration + 1);
    }
  }
  return done('max-iterations', options.maxIterations);

  function done(reason: LbfgsResult['reason'], iterations: number): LbfgsResult {
    return { x, loss: current.loss, iterations, evaluations, converged: reason === 'gradient', reason };
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** y += a x */
function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] = y[i]! + a * x[i]!;
}

function scale(a: number, x: Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * a;
}
