/**
 * Optimizer updates appended to the training graph after the backward pass, one parameter at a
 * time. They follow PyTorch's definitions (torch.optim.SGD, Adam, AdamW) so results compare.
 *
 * SGD:   g += wd * p;  buf = momentum * buf + g;  p -= lr * buf      (momentum 0: p -= lr * g)
 * Adam:  g += wd * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *        p -= lr * (m / c1) / (sqrt(v / c2) + eps),  c1 = 1 - b1^t, c2 = 1 - b2^t
 * AdamW: p *= 1 - lr * wd  (decoupled), then Adam without the L2 term.
 */
import type { GraphBuilder } from '../graph/builder.ts';
import type { Value } from '../graph/types.ts';
import type { OptimizerConfig } from './optimizer-config.ts';
import { learningRateAt } from './schedule.ts';

/** Scalar graph inputs the update reads, fed fresh every step. */
export const LEARNING_RATE_INPUT = 'lr';
export const BIAS_CORRECTION1_INPUT = 'adam_bias_correction1';
export const BIAS_CORRECTION2_INPUT = 'adam_bias_correction2';

/** Names of the optimizer state tensors kept for a parameter (same shape as it). */
export function optimizerStateNames(config: OptimizerConfig, parameter: string): string[] {
  if (config.name === 'sgd') return config.momentum > 0 ? [`${parameter}.momentum`] : [];
  return [`${parameter}.adam_m`, `${parameter}.adam_v`];
}

/** The scalar inputs of the update and their graph names. */
export function scalarInputNames(config: OptimizerConfig): string[] {
  return config.name === 'sgd' ? [LEARNING_RATE_INPUT] : [LEARNING_RATE_INPUT, BIAS_CORRECTION1_INPUT, BIAS_CORRECTION2_INPUT];
}

/** Values of the scalar inputs for step t (0-based). */
export function scalarInputValues(config: OptimizerConfig, step: number): Record<string, number> {
  const values: Record<string, number> = { [LEARNING_RATE_INPUT]: learningRateAt(config, step) };
  if (config.name !== 'sgd') {
    values[BIAS_CORRECTION1_INPUT] = 1 - config.beta1 ** (step + 1);
    values[BIAS_CORRECTION2_INPUT] = 1 - config.beta2 ** (step + 1);
  }
  return values;
}

/** Appends one parameter's update. Returns the new parameter and new state, in state-name order. */
export function appendUpdate(
  g: GraphBuilder,
  config: OptimizerConfig,
  param: Value,
  grad: Value,
  state: readonly Value[],
  scalars: Readonly<Record<string, Value>>,
): { param: Value; state: Value[] } {
  const c = (v: number): Value => g.scalar(v, param.dtype);
  const lr = scalars[LEARNING_RATE_INPUT]!;
  const l2 = config.weightDecay > 0 && config.name !== 'adamw';
  const gradient = l2 ? g.add(grad, g.mul(c(config.weightDecay), param)) : grad;

  if (config.name === 'sgd') {
    if (config.momentum === 0) return { param: g.sub(param, g.mul(lr, gradient)), state: [] };
    const buf = g.add(g.mul(c(config.momentum), state[0]!), gradient);
    return { param: g.sub(param, g.mul(lr, buf)), state: [buf] };
  }

  const decayed = config.name === 'adamw' && config.weightDecay > 0 ? g.mul(param, g.sub(c(1), g.mul(lr, c(config.weightDecay)))) : param;
  const m = g.add(g.mul(c(config.beta1), state[0]!), g.mul(c(1 - config.beta1), gradient));
  const v = g.add(g.mul(c(config.beta2), state[1]!), g.mul(c(1 - config.beta2), g.mul(gradient, gradient)));
  const mHat = g.div(m, scalars[BIAS_CORRECTION1_INPUT]!);
  const vHat = g.div(v, scalars[BIAS_CORRECTION2_INPUT]!);
  const update = g.div(mHat, g.add(g.sqrt(vHat), c(config.epsilon)));
  return { param: g.sub(decayed, g.mul(lr, update)), state: [m, v] };
}
