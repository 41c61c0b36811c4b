/**
 * Gradient-norm clipping as torch.nn.utils.clip_grad_norm_ does it: one L2 norm over every
 * gradient together, and every gradient scaled by min(1, max_norm / (norm + eps)). Appended to
 * the training graph between the backward pass and the optimizer update.
 */
import type { GraphBuilder } from './builder.ts';
import type { Value } from './types.ts';

export interface ClippedGradients {
  readonly gradients: Value[];
  /** The global norm before clipping (a scalar), worth reporting as a metric. */
  readonly norm: Value;
}

export function clipGradientsByGlobalNorm(g: GraphBuilder, gradients: readonly Value[], maxNorm: number, eps = 1e-6): ClippedGradients {
  const first = gradients[0];
  if (first === undefined) throw new Error('clipGradientsByGlobalNorm: needs at least one gradient');
  if (!(maxNorm > 0)) throw new Error(`clipGradientsByGlobalNorm: max_norm must be > 0, got ${maxNorm}`);
  const squares = gradients.map((grad) => {
    if (grad.dtype !== first.dtype) throw new Error(`clipGradientsByGlobalNorm: gradient ${grad.name} is ${grad.dtype}, others are ${first.dtype}`);
    const squared = g.mul(grad, grad);
    return squared.shape.length === 0 ? squared : g.reduceSum(squared, squared.shape.map((_, i) => i), false);
  });
  const norm = g.sqrt(squares.slice(1).reduce((sum, s) => g.add(sum, s), squares[0] as Value));
  const c = (v: number): Value => g.scalar(v, first.dtype);
  const factor = g.min(c(1), g.div(c(maxNorm), g.add(norm, c(eps))));
  return { gradients: gradients.map((grad) => g.mul(grad, factor)), norm };
}
