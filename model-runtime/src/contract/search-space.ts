/**
 * Hyperparameter search spaces, defined once for both tuners: `modelstack tune` samples them on a
 * laptop, and the training pipeline hands them to SageMaker's tuning job as ParameterRanges.
 *
 * A range is written `name=spec`:
 *
 *   learning_rate=1e-4:1e-1:log     continuous, searched on a log scale (`:linear` or nothing: uniform)
 *   epochs=10:50                    integer (both bounds written as integers), uniform; `:log` allowed
 *   batch_size=16,32,64,128         categorical: one of the listed values
 *   hidden_sizes=32|64,64|128,128   categorical with `|` between the choices (a choice may hold commas)
 *
 * Every bound and choice is checked against the hyperparameter table (hyperparameters.ts), so a
 * range that would produce a value the runtime refuses is refused here, before any trial runs.
 */
import { parseDecimal } from '../numbers.ts';
import { HYPERPARAMETER_SPECS } from './hyperparameters.ts';

export type RangeScale = 'linear' | 'log';

export type ParameterRange =
  | { readonly kind: 'continuous'; readonly name: string; readonly min: number; readonly max: number; readonly scale: RangeScale }
  | { readonly kind: 'integer'; readonly name: string; readonly min: number; readonly max: number; readonly scale: RangeScale }
  | { readonly kind: 'categorical'; readonly name: string; readonly values: readonly string[] };

export class SearchSpaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SearchSpaceError';
  }
}

/** SageMaker's ScalingType for each scale. */
const SAGEMAKER_SCALING: Readonly<Record<RangeScale, 'Linear' | 'Logarithmic'>> = { linear: 'Linear', log: 'Logarithmic' };

/** SageMaker's HyperParameterTuningJobConfig.ParameterRanges (every value a string, as its API wants). */
export interface SageMakerParameterRanges {
  ContinuousParameterRanges?: { Name: string; MinValue: string; MaxValue: string; ScalingType: 'Linear' | 'Logarithmic' }[];
  IntegerParameterRanges?: { Name: string; MinValue: string; MaxValue: string; ScalingType: 'Linear' | 'Logarithmic' }[];
  CategoricalParameterRanges?: { Name: string; Values: string[] }[];
}

const EXAMPLES = 'e.g. learning_rate=1e-4:1e-1:log, epochs=10:50, batch_size=16,32,64 or hidden_sizes=32|64,64';

/** Parses one `name=spec` range; throws SearchSpaceError naming what is wrong and what would be right. */
export function parseRange(text: string): ParameterRange {
  const separator = text.indexOf('=');
  if (separator <= 0 || separator === text.length - 1) {
    throw new SearchSpaceError(`range '${text}' is not name=spec; write ${EXAMPLES}`);
  }
  const name = text.slice(0, separator).trim();
  const spec = text.slice(separator + 1).trim();
  checkName(name);
  if (spec.includes(':')) return numericRange(name, spec);
  const values = (spec.includes('|') ? spec.split('|') : spec.split(',')).map((value) => value.trim());
  if (values.some((value) => value === '')) throw new SearchSpaceError(`range ${name}=${spec} has an empty choice; write ${EXAMPLES}`);
  if (new Set(values).size !== values.length) throw new SearchSpaceError(`range ${name}=${spec} lists a choice twice`);
  if (values.length < 2) throw new SearchSpaceError(`range ${name}=${spec} has one choice only: fix it with --hp ${name}=${spec} instead`);
  for (const value of values) checkValue(name, value, spec);
  return { kind: 'categorical', name, values };
}

/** Each name at most once, so a trial's value for it is defined. */
export function parseSearchSpace(texts: readonly string[]): ParameterRange[] {
  const ranges = texts.map(parseRange);
  const seen = new Set<string>();
  for (const range of ranges) {
    if (seen.has(range.name)) throw new SearchSpaceError(`hyperparameter ${range.name} has two ranges; give it one`);
    seen.add(range.name);
  }
  return ranges;
}

/** A continuous log-scale range, as the pipeline's defaults are written. */
export function logRange(name: string, min: number, max: number, kind: 'continuous' | 'integer' = 'continuous'): ParameterRange {
  return checkBounds({ kind, name, min, max, scale: 'log' }, `${min}:${max}:log`);
}

/**
 * One value from the range, as the string hyperparameters.json holds. `random` returns uniform
 * numbers in [0, 1). Log scales sample the logarithm uniformly, so each decade is equally likely.
 */
export function sampleRange(range: ParameterRange, random: () => number): string {
  const u = random();
  switch (range.kind) {
    case 'categorical':
      return range.values[Math.min(range.values.length - 1, Math.floor(u * range.values.length))]!;
    case 'continuous': {
      const value = range.scale === 'log' ? Math.exp(Math.log(range.min) + u * (Math.log(range.max) - Math.log(range.min))) : range.min + u * (range.max - range.min);
      // Six significant digits: a value that reads the same in the CSV, the table and hyperparameters.json.
      return String(Number(Math.min(range.max, Math.max(range.min, value)).toPrecision(6)));
    }
    case 'integer': {
      // Widened by half a step at each end so both bounds are as likely as the integers between.
      const low = range.min - 0.5;
      const high = range.max + 0.5;
      const value = range.scale === 'log' ? Math.exp(Math.log(Math.max(low, 0.5)) + u * (Math.log(high) - Math.log(Math.max(low, 0.5)))) : low + u * (high - low);
      return String(Math.min(range.max, Math.max(range.min, Math.round(value))));
    }
  }
}

/** The ranges as SageMaker's ParameterRanges; a kind with no range is left out. */
export function sagemakerParameterRanges(ranges: readonly ParameterRange[]): SageMakerParameterRanges {
  const out: SageMakerParameterRanges = {};
  const numeric = (range: Extract<ParameterRange, { min: number }>) => ({
    Name: range.name,
    MinValue: String(range.min),
    MaxValue: String(range.max),
    ScalingType: SAGEMAKER_SCALING[range.scale],
  });
  const continuous = ranges.filter((r) => r.kind === 'continuous').map(numeric);
  const integer = ranges.filter((r) => r.kind === 'integer').map(numeric);
  const categorical = ranges.filter((r) => r.kind === 'categorical').map((r) => ({ Name: r.name, Values: [...r.values] }));
  if (continuous.length > 0) out.ContinuousParameterRanges = continuous;
  if (integer.length > 0) out.IntegerParameterRanges = integer;
  if (categorical.length > 0) out.CategoricalParameterRanges = categorical;
  return out;
}

/** The range written back as its spec (`1e-4:0.1:log`, `16,32`, `32|64,64`). */
export function formatRange(range: ParameterRange): string {
  if (range.kind === 'categorical') {
    return `${range.name}=${range.values.join(range.values.some((v) => v.includes(',')) ? '|' : ',')}`;
  }
  return `${range.name}=${range.min}:${range.max}${range.scale === 'log' ? ':log' : ''}`;
}

function numericRange(name: string, spec: string): ParameterRange {
  const parts = spec.split(':').map((part) => part.trim());
  if (parts.length > 3) throw new SearchSpaceError(`range ${name}=${spec} has ${parts.length} parts; write min:max or min:max:log`);
  const [minText, maxText, scaleText = 'linear'] = parts as [string, string, string?];
  if (scaleText !== 'linear' && scaleText !== 'log') {
    throw new SearchSpaceError(`range ${name}=${spec}: the scale '${scaleText}' is not log or linear`);
  }
  const min = parseDecimal(minText);
  const max = parseDecimal(maxText);
  for (const [label, text, value] of [['lower bound', minText, min], ['upper bound', maxText, max]] as const) {
    if (value === undefined) throw new SearchSpaceError(`range ${name}=${spec}: the ${label} '${text}' is not a number; write ${EXAMPLES}`);
  }
  const integer = /^[-+]?\d+$/.test(minText) && /^[-+]?\d+$/.test(maxText);
  return checkBounds({ kind: integer ? 'integer' : 'continuous', name, min: min!, max: max!, scale: scaleText }, spec);
}

function checkBounds(range: Extract<ParameterRange, { min: number }>, spec: string): ParameterRange {
  const { name, min, max, scale } = range;
  checkName(name);
  if (!(min < max)) throw new SearchSpaceError(`range ${name}=${spec}: the lower bound ${min} must be below the upper bound ${max}`);
  if (scale === 'log' && min <= 0) throw new SearchSpaceError(`range ${name}=${spec}: a log scale needs bounds above 0, but the lower bound is ${min}`);
  checkValue(name, String(min), spec);
  checkValue(name, String(max), spec);
  return range;
}

function checkName(name: string): void {
  if (!(name in HYPERPARAMETER_SPECS)) {
    throw new SearchSpaceError(`range for unknown hyperparameter '${name}'; known: ${Object.keys(HYPERPARAMETER_SPECS).join(', ')}`);
  }
}

/** A bound or choice the runtime would refuse is refused here, with the table's own wording. */
function checkValue(name: string, value: string, spec: string): void {
  const entry = HYPERPARAMETER_SPECS[name]!;
  if (entry.parse(value) === undefined) {
    throw new SearchSpaceError(`range ${name}=${spec}: ${value} is not an allowed ${name} (expected ${entry.allowed})`);
  }
}

/**
 * What `modelstack tune` searches when no --hp-range is given: the training pipeline's tuning
 * defaults (PipelineTuningOptions: learning_rate 1e-4 to 0.1 and batch_size 16 to 512, log scales).
 */
export const DEFAULT_SEARCH_SPACE: readonly string[] = ['learning_rate=0.0001:0.1:log', 'batch_size=16:512:log'];
