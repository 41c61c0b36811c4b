/**
 * Which printed metrics can be a tuning objective, and in which direction: losses and RMSE are
 * minimised, accuracies maximised. Spreads (`*_std`) and the epoch count are not objectives.
 */
import { METRIC_NAMES, type MetricName } from './metrics.ts';

export type ObjectiveGoal = 'minimize' | 'maximize';

export interface Objective {
  readonly metric: MetricName;
  readonly goal: ObjectiveGoal;
}

export class ObjectiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ObjectiveError';
  }
}

/** The goal of a metric, or null when it is not something to optimise. */
export function metricGoal(metric: MetricName): ObjectiveGoal | null {
  if (metric === 'epoch' || metric.endsWith('_std')) return null;
  return metric.includes('accuracy') ? 'maximize' : 'minimize';
}

/** Every metric that can be an objective. */
export const OBJECTIVE_METRICS: readonly MetricName[] = METRIC_NAMES.filter((name) => metricGoal(name) !== null);

/**
 * The objective for a name as the user writes it. With cross-validation the per-fold metric is
 * replaced by its mean over the folds (`validation_loss` -> `cv_validation_loss_mean`), the number
 * the runtime prints once every fold is done.
 */
export function parseObjective(name: string, options: { readonly crossValidated: boolean }): Objective {
  const known = METRIC_NAMES.find((metric) => metric === name);
  const goal = known === undefined ? null : metricGoal(known);
  if (known === undefined || goal === null) {
    throw new ObjectiveError(`unknown objective '${name}'; choose one of ${OBJECTIVE_METRICS.join(', ')}`);
  }
  if (!options.crossValidated) {
    if (known.startsWith('cv_')) throw new ObjectiveError(`objective ${known} is printed with cross-validation only: add --cv-folds k, or use ${known.replace(/^cv_/, '').replace(/_mean$/, '')}`);
    return { metric: known, goal };
  }
  if (known.startsWith('cv_')) return { metric: known, goal };
  const mean = METRIC_NAMES.find((metric) => metric === `cv_${known}_mean`);
  if (mean === undefined) {
    const cv = OBJECTIVE_METRICS.filter((metric) => metric.startsWith('cv_'));
    throw new ObjectiveError(`with --cv-folds the objective is a fold mean, and ${known} has none; choose one of ${cv.join(', ')}`);
  }
  return { metric: mean, goal };
}

/** Whether `a` is better than `b` under the goal. */
export function isBetter(goal: ObjectiveGoal, a: number, b: number): boolean {
  return goal === 'minimize' ? a < b : a > b;
}
