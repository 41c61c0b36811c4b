/**
 * Checks a model and optimizer configuration before any graph is built, so a bad value fails
 * with its name and the allowed range instead of deep inside ONNX Runtime.
 */
import { TABULAR_ALGORITHMS, TASKS } from '../artifact/model-description.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';
import type { ModelConfig } from './trainable-model.ts';

const ACTIVATIONS = ['relu', 'tanh', 'sigmoid'];
const OPTIMIZERS = ['sgd', 'adam', 'adamw'];
const SCHEDULES = ['constant', 'cosine'];

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}
const isPositiveInt = (v: number): boolean => Number.isInteger(v) && v > 0;
const inRange = (v: number, lo: number, hi: number, hiOpen = true): boolean => Number.isFinite(v) && v >= lo && (hiOpen ? v < hi : v <= hi);

export function validateModelConfig(m: ModelConfig): void {
  check(TABULAR_ALGORITHMS.includes(m.algorithm), `algorithm '${m.algorithm}' is not a tabular model; use one of ${TABULAR_ALGORITHMS.join(', ')}`);
  check(TASKS.includes(m.task), `task '${m.task}' is unknown; use one of ${TASKS.join(', ')}`);
  check(!(m.algorithm === 'linear-regression' && m.task !== 'regression'), `algorithm linear-regression needs task regression, got ${m.task}; use logistic-regression or mlp for classification`);
  check(!(m.algorithm === 'logistic-regression' && m.task === 'regression'), 'algorithm logistic-regression needs task binary or multiclass; use linear-regression or mlp for regression');
  check(isPositiveInt(m.inputSize), `inputSize (number of features) must be a positive integer, got ${m.inputSize}`);
  if (m.task === 'binary') check(m.outputSize === 1, `outputSize must be 1 (one logit) for task binary, got ${m.outputSize}`);
  if (m.task === 'multiclass') check(Number.isInteger(m.outputSize) && m.outputSize >= 2, `outputSize (number of classes) must be an integer >= 2 for task multiclass, got ${m.outputSize}`);
  if (m.task === 'regression') check(isPositiveInt(m.outputSize), `outputSize (number of targets) must be a positive integer, got ${m.outputSize}`);
  check(Number.isInteger(m.seed), `seed must be an integer, got ${m.seed}`);
  if (m.algorithm !== 'mlp') return;
  check(m.hiddenSizes.length > 0 && m.hiddenSizes.every(isPositiveInt), `hidden_sizes must be one or more positive integers (e.g. 64,64), got [${m.hiddenSizes.join(', ')}]`);
  check(ACTIVATIONS.includes(m.activation), `activation '${m.activation}' is unknown; use one of ${ACTIVATIONS.join(', ')}`);
  check(inRange(m.dropout, 0, 1), `dropout must be in [0, 1), got ${m.dropout}`);
}

export function validateOptimizerConfig(o: OptimizerConfig): void {
  check(OPTIMIZERS.includes(o.name), `optimizer '${o.name}' is unknown; use one of ${OPTIMIZERS.join(', ')}`);
  check(Number.isFinite(o.learningRate) && o.learningRate > 0 && o.learningRate <= 10, `learning_rate must be in (0, 10], got ${o.learningRate}`);
  check(inRange(o.momentum, 0, 1), `momentum must be in [0, 1), got ${o.momentum}`);
  check(inRange(o.beta1, 0, 1), `beta1 must be in [0, 1), got ${o.beta1}`);
  check(inRange(o.beta2, 0, 1), `beta2 must be in [0, 1), got ${o.beta2}`);
  check(Number.isFinite(o.epsilon) && o.epsilon > 0 && o.epsilon < 1, `epsilon must be in (0, 1), got ${o.epsilon}`);
  check(inRange(o.weightDecay, 0, 1, false), `weight_decay must be in [0, 1], got ${o.weightDecay}`);
  check(Number.isFinite(o.gradClip) && o.gradClip >= 0, `grad_clip must be a number >= 0 (0 = off), got ${o.gradClip}`);
  check(SCHEDULES.includes(o.schedule.kind), `lr_schedule '${o.schedule.kind}' is unknown; use one of ${SCHEDULES.join(', ')}`);
  check(Number.isInteger(o.schedule.warmupSteps) && o.schedule.warmupSteps >= 0, `warmup_steps must be a non-negative integer, got ${o.schedule.warmupSteps}`);
  check(Number.isInteger(o.schedule.totalSteps) && o.schedule.totalSteps >= 1, `the schedule's totalSteps must be a positive integer, got ${o.schedule.totalSteps}`);
}
