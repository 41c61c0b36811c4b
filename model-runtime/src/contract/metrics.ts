/**
 * The metric lines the runtime prints on stdout, and the regexes that read them back.
 *
 * This module is the single source for both sides: the training loop formats lines with
 * `formatMetricLine`, and the CDK constructs hand `METRIC_DEFINITIONS` to SageMaker as
 * `MetricDefinitions` (CloudWatch metrics, hyperparameter-tuning objectives). Changing a name
 * here changes both at once.
 */

/** Every metric the runtime may print. */
export const METRIC_NAMES = [
  'epoch',
  'train_loss',
  'train_accuracy',
  'validation_loss',
  'validation_accuracy',
  'validation_rmse',
  'validation_perplexity',
  'tokens_per_second',
  'cv_validation_loss_mean',
  'cv_validation_loss_std',
  'cv_validation_accuracy_mean',
  'cv_validation_accuracy_std',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/** A number as printed by `formatMetricLine`: plain, exponent or non-finite. */
const NUMBER_PATTERN = '([-+]?(?:[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?|NaN|Infinity))';

/** `name=value;` pairs; the regex for one metric. */
export function metricRegex(name: MetricName): string {
  return `${name}=${NUMBER_PATTERN};`;
}

/** SageMaker `MetricDefinitions` for every metric the runtime prints. */
export const METRIC_DEFINITIONS: ReadonlyArray<{ Name: MetricName; Regex: string }> = METRIC_NAMES.map(
  (name) => ({ Name: name, Regex: metricRegex(name) }),
);

/** One stdout line, e.g. `epoch=3; train_loss=0.0412; validation_loss=0.0398;`. */
export function formatMetricLine(values: Partial<Record<MetricName, number>>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
    .map(([name, value]) => `${name}=${Number.isInteger(value) ? value : value.toPrecision(6)};`)
    .join(' ');
}
