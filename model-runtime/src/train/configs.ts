/**
 * Hyperparameters and the data's shape -> the core's ModelConfig and OptimizerConfig.
 */
import type { TabularAlgorithm, Task } from '../artifact/model-description.ts';
import type { Hyperparameters } from '../contract/hyperparameters.ts';
import type { ModelConfig } from '../models/trainable-model.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';

/** A tabular job's hyperparameters, its algorithm known to be a tabular one. */
export type TabularHyperparameters = Hyperparameters & { readonly algorithm: TabularAlgorithm };

export function modelConfig(hp: TabularHyperparameters, task: Task, inputSize: number, classes: number): ModelConfig {
  return {
    algorithm: hp.algorithm,
    task,
    inputSize,
    // Binary models have one logit; multiclass one per class; regression one target.
    outputSize: task === 'multiclass' ? classes : 1,
    hiddenSizes: hp.hiddenSizes,
    activation: hp.activation,
    dropout: hp.dropout,
    seed: hp.seed,
  };
}

/** Optimizer steps in a run of `epochs` epochs over `rows` rows: the cosine schedule's length. */
export function totalSteps(rows: number, batchSize: number, epochs: number): number {
  return Math.max(1, Math.ceil(rows / batchSize) * epochs);
}

export function optimizerConfig(hp: Hyperparameters, steps: number): OptimizerConfig {
  return {
    name: hp.optimizer,
    learningRate: hp.learningRate,
    momentum: hp.momentum,
    beta1: hp.beta1,
    beta2: hp.beta2,
    epsilon: hp.epsilon,
    weightDecay: hp.weightDecay,
    gradClip: hp.gradClip,
    schedule: { kind: hp.lrSchedule, warmupSteps: hp.warmupSteps, totalSteps: steps },
  };
}
