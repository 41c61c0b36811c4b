/**
 * `modelstack tune`'s options -> the search's settings, every problem found before any trial
 * runs: a malformed range, an unknown objective, --parallel above --trials, a hyperparameter both
 * fixed and searched, a combination the runtime would refuse.
 */
import { stat } from 'node:fs/promises';
import { HyperparameterError, parseHyperparameters } from '../../../model-runtime/src/contract/hyperparameters.ts';
import { ObjectiveError, parseObjective, type Objective } from '../../../model-runtime/src/contract/objective.ts';
import { DEFAULT_SEARCH_SPACE, SearchSpaceError, parseSearchSpace, type ParameterRange } from '../../../model-runtime/src/contract/search-space.ts';
import { sampleTrials, type SearchSpec } from './search.ts';

export interface TuneOptions {
  readonly algorithm?: string;
  readonly trials: string;
  /** Unset: 2, or --trials when that is smaller. */
  readonly parallel?: string;
  readonly objective: string;
  readonly hpRange: readonly string[];
  readonly hp: Readonly<Record<string, string>>;
  readonly cvFolds?: string;
  readonly validation?: string;
  readonly seed: string;
  readonly output: string;
}

export interface TuneSettings extends SearchSpec {
  readonly output: string;
  /** What the tuner chose for the user, said before the first trial. */
  readonly notes: readonly string[];
}

/** Bad input to `modelstack tune`: the command exits 2 with the message, as for a bad option. */
export class TuneInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TuneInputError';
  }
}

/** Held out when neither --validation, --cv-folds nor validation_fraction says how to score trials. */
export const TUNING_VALIDATION_FRACTION = '0.2';

const DEFAULT_PARALLEL = 2;

export async function tuneSettings(data: string, options: TuneOptions): Promise<TuneSettings> {
  const trials = count('--trials', options.trials, 1, 10_000);
  const parallel = options.parallel === undefined ? Math.min(DEFAULT_PARALLEL, trials) : count('--parallel', options.parallel, 1, 256);
  if (parallel > trials) throw new TuneInputError(`--parallel ${parallel} is more than --trials ${trials}: at most ${trials} trials can run at once`);
  const seed = count('--seed', options.seed, 0, 2 ** 32 - 1);
  const notes: string[] = [];

  const fixed: Record<string, string> = { ...options.hp };
  if (options.algorithm !== undefined) {
    if (fixed.algorithm !== undefined && fixed.algorithm !== options.algorithm) throw new TuneInputError(`--algorithm ${options.algorithm} and --hp algorithm=${fixed.algorithm} disagree`);
    fixed.algorithm = options.algorithm;
  }
  if (fixed.seed !== undefined) throw new TuneInputError('--hp seed is set by the tuner (each trial its own seed); choose the tuning run\'s seed with --seed');
  if (options.cvFolds !== undefined) {
    if (fixed.cv_folds !== undefined && fixed.cv_folds !== options.cvFolds) throw new TuneInputError(`--cv-folds ${options.cvFolds} and --hp cv_folds=${fixed.cv_folds} disagree`);
    count('--cv-folds', options.cvFolds, 2, 100);
    fixed.cv_folds = options.cvFolds;
  }
  const crossValidated = fixed.cv_folds !== undefined && fixed.cv_folds !== '0';

  let ranges: ParameterRange[];
  try {
    ranges = parseSearchSpace(options.hpRange.length > 0 ? options.hpRange : DEFAULT_SEARCH_SPACE);
  } catch (error) {
    if (error instanceof SearchSpaceError) throw new TuneInputError(`--hp-range: ${error.message}`);
    throw error;
  }
  if (options.hpRange.length === 0) notes.push(`searching the default space: ${DEFAULT_SEARCH_SPACE.join(' ')}`);
  for (const range of ranges) {
    if (range.name === 'seed') throw new TuneInputError('--hp-range seed: the tuner gives each trial its own seed; choose the tuning run\'s seed with --seed');
    if (fixed[range.name] !== undefined) throw new TuneInputError(`${range.name} is both fixed (--hp ${range.name}=${fixed[range.name]}) and searched (--hp-range); keep one`);
  }

  let objective: Objective;
  try {
    objective = parseObjective(options.objective, { crossValidated });
  } catch (error) {
    if (error instanceof ObjectiveError) throw new TuneInputError(`--objective: ${error.message}`);
    throw error;
  }
  if (crossValidated && objective.metric !== options.objective) notes.push(`with --cv-folds ${fixed.cv_folds} the objective is ${objective.metric}, the folds' mean`);

  // Trials are compared on rows they did not train on: without a validation set, hold some out.
  const scoresOnValidation = objective.metric.includes('validation');
  if (scoresOnValidation && !crossValidated && options.validation === undefined) {
    if (fixed.validation_fraction === '0') throw new TuneInputError(`--objective ${objective.metric} needs validation rows, but validation_fraction=0; give --validation, --cv-folds or a validation_fraction above 0`);
    if (fixed.validation_fraction === undefined) {
      fixed.validation_fraction = TUNING_VALIDATION_FRACTION;
      notes.push(`each trial holds out validation_fraction=${TUNING_VALIDATION_FRACTION} of the rows (by its seed) to score ${objective.metric}`);
    }
  }

  // Every trial's hyperparameters are checked the way the runtime will check them.
  for (const [i, sampled] of sampleTrials(ranges, trials, seed).entries()) {
    try {
      parseHyperparameters({ ...fixed, ...sampled });
    } catch (error) {
      if (error instanceof HyperparameterError) throw new TuneInputError(`trial ${i + 1} would fail: ${error.message}`);
      throw error;
    }
  }
  for (const [what, file] of [['data', data], ['--validation', options.validation]] as const) {
    if (file !== undefined && (await stat(file).catch(() => undefined)) === undefined) throw new TuneInputError(`${what} ${file} does not exist`);
  }
  const outputInfo = await stat(options.output).catch(() => undefined);
  if (outputInfo !== undefined && !outputInfo.isDirectory()) throw new TuneInputError(`--output ${options.output} is a file; name a folder for results.csv, tuning.svg and model.tar.gz`);
  return { data, validation: options.validation, ranges, fixed, objective, trials, parallel, seed, output: options.output, notes };
}

function count(option: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new TuneInputError(`${option} ${text} is not allowed; expected an integer ${min} to ${max}`);
  return value;
}
