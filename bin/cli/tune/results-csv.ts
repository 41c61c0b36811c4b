/** results.csv: one row per trial, its searched values, seed, epochs, objective, state and reason. */
import { stringify } from 'csv-stringify/sync';
import type { Objective } from '../../../model-runtime/src/contract/objective.ts';
import type { TrialRecord } from './search.ts';

export function resultsCsv(trials: readonly TrialRecord[], searched: readonly string[], objective: Objective): string {
  return stringify([
    ['trial', ...searched, 'seed', 'epochs', objective.metric, 'state', 'reason'],
    ...trials.map((t) => [t.index, ...searched.map((name) => t.sampled[name] ?? ''), t.seed, t.epoch, t.objective ?? '', t.state, t.reason ?? '']),
  ]);
}
