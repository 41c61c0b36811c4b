/**
 * The learning rate for each step, computed in TypeScript and fed to the training graph as a
 * scalar input (so changing it never rebuilds the graph).
 *
 * Step t counts from 0. Warm-up: lr * (t + 1) / warmupSteps for t < warmupSteps (the first step
 * already moves). Then constant: lr; cosine: lr * (1 + cos(pi * progress)) / 2 with progress
 * going from 0 to 1 over the steps after warm-up, and staying at 0 past totalSteps.
 */
import type { OptimizerConfig } from './optimizer-config.ts';

export function learningRateAt(config: OptimizerConfig, step: number): number {
  const { learningRate, schedule } = config;
  if (step < schedule.warmupSteps) return (learningRate * (step + 1)) / schedule.warmupSteps;
  if (schedule.kind === 'constant') return learningRate;
  const decaySteps = Math.max(1, schedule.totalSteps - schedule.warmupSteps);
  const progress = Math.min(1, (step - schedule.warmupSteps) / decaySteps);
  return (learningRate * (1 + Math.cos(Math.PI * progress))) / 2;
}
