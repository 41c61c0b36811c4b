/**
 * Reads the runtime's metric lines back (`epoch=3; train_loss=0.41; validation_loss=0.39;`), with
 * the regexes SageMaker's MetricDefinitions use: a trial is observed exactly as the cloud observes
 * a training job.
 */
import { METRIC_DEFINITIONS, type MetricName } from '../../../model-runtime/src/contract/metrics.ts';

export type Metrics = Partial<Record<MetricName, number>>;

const PATTERNS = METRIC_DEFINITIONS.map(({ Name, Regex }) => ({ name: Name, regex: new RegExp(`(?:^|\\s)${Regex}`) }));

/** The metrics on one stdout line; null when it has none (a note, the model line). */
export function parseMetricLine(line: string): Metrics | null {
  const metrics: Metrics = {};
  let found = false;
  for (const { name, regex } of PATTERNS) {
    const match = regex.exec(line);
    if (match) {
      metrics[name] = Number(match[1]);
      found = true;
    }
  }
  return found ? metrics : null;
}
