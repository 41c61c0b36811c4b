/**
 * The tuning run: N trials with hyperparameters sampled from the search space, P running at
 * once, each a runtime training run in its own process (trial-process.ts) with its own seed.
 * Successive halving stops trials that fall behind at a rung; an abort (Ctrl-C) stops the running
 * trials, waits for them, and the trials that finished keep their results.
 *
 * Progress is reported as changes to one trial record at a time, which the live table redraws.
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { isBetter, type Objective } from '../../../model-runtime/src/contract/objective.ts';
import { sampleRange, type ParameterRange } from '../../../model-runtime/src/contract/search-space.ts';
import { createRandom, hash32 } from '../../../model-runtime/src/data/random.ts';
import { DEFAULT_HALVING, SuccessiveHalving } from './successive-halving.ts';
import { startTrial, trialRoot, type RunningTrial, type TrialExit } from './trial-process.ts';

export type TrialState = 'pending' | 'running' | 'stopped early' | 'done' | 'failed' | 'interrupted';

export interface TrialRecord {
  /** 1-based. */
  readonly index: number;
  /** The searched hyperparameters' values for this trial. */
  readonly sampled: Readonly<Record<string, string>>;
  /** The trial's own seed (hyperparameter `seed`): weights, shuffles and its validation split. */
  readonly seed: number;
  state: TrialState;
  /** Epochs reported so far (the final fit's). */
  epoch: number;
  /** Finished: the kept model's objective; otherwise the best epoch value so far (null: none yet). */
  objective: number | null;
  /** Failed: the runtime's failure line; stopped early: the rung it lost at. */
  reason: string | null;
  /** Finished: the trial's model/ folder (sealed, in the work folder until the run ends). */
  modelDir: string | null;
  /** The folder the trial ran in. */
  readonly root: string;
}

/** What to search: the data, the space, the objective and how many trials. */
export interface SearchSpec {
  readonly data: string;
  readonly validation?: string;
  readonly ranges: readonly ParameterRange[];
  /** --hp values, given to every trial. */
  readonly fixed: Readonly<Record<string, string>>;
  readonly objective: Objective;
  readonly trials: number;
  readonly parallel: number;
  readonly seed: number;
}

export interface SearchSettings extends SearchSpec {
  /** Successive halving on the per-epoch objective; off with cross-validation (its objective comes at the end). */
  readonly halving: boolean;
  /** Where trial job folders go. */
  readonly workDir: string;
  readonly signal?: AbortSignal;
  /** Called after every change to a trial (its record, as changed). */
  readonly onChange: (trial: TrialRecord, all: readonly TrialRecord[]) => void;
}

export interface SearchResult {
  readonly trials: readonly TrialRecord[];
  /** The finished trial with the best objective, or null when none finished. */
  readonly best: TrialRecord | null;
  readonly interrupted: boolean;
}

/** Each trial's seed: distinct per trial, fixed by the tuning seed, in hyperparameters.json's range. */
export function trialSeed(tuningSeed: number, index: number): number {
  return hash32(tuningSeed, index, 0x7475_6e65);
}

/** The trials' hyperparameters, drawn before any runs: the same --seed gives the same trials whatever finishes first. */
export function sampleTrials(ranges: readonly ParameterRange[], count: number, seed: number): Record<string, string>[] {
  const random = createRandom(seed);
  return Array.from({ length: count }, () => Object.fromEntries(ranges.map((range) => [range.name, sampleRange(range, random)])));
}

export async function runSearch(settings: SearchSettings): Promise<SearchResult> {
  const { objective } = settings;
  const halving = new SuccessiveHalving({ goal: objective.goal, ...DEFAULT_HALVING });
  const threads = Math.max(1, Math.floor(os.availableParallelism() / settings.parallel));
  const records: TrialRecord[] = sampleTrials(settings.ranges, settings.trials, settings.seed).map((sampled, i) => ({
    index: i + 1,
    sampled,
    seed: trialSeed(settings.seed, i + 1),
    state: 'pending',
    epoch: 0,
    objective: null,
    reason: null,
    modelDir: null,
    root: trialRoot(settings.workDir, i + 1),
  }));
  const changed = (record: TrialRecord) => settings.onChange(record, records);
  const running = new Map<number, { trial: RunningTrial | null; done: Promise<void> }>();
  let interrupted = settings.signal?.aborted === true;
  const onAbort = () => {
    interrupted = true;
    for (const entry of running.values()) entry.trial?.stop();
  };
  settings.signal?.addEventListener('abort', onAbort, { once: true });

  const run = async (record: TrialRecord, slot: { trial: RunningTrial | null }) => {
    record.state = 'running';
    changed(record);
    await mkdir(record.root, { recursive: true });
    let stoppedAt: number | null = null;
    let trial: RunningTrial;
    try {
      trial = await startTrial(
        {
          root: record.root,
          data: settings.data,
          validation: settings.validation,
          hyperparameters: { ...settings.fixed, ...record.sampled, seed: String(record.seed) },
          threads,
        },
        (kind, metrics) => {
          if (kind !== 'epoch' || metrics.epoch === undefined) return;
          record.epoch = metrics.epoch;
          const value = metrics[objective.metric];
          if (value !== undefined && (record.objective === null || isBetter(objective.goal, value, record.objective) || !Number.isFinite(record.objective))) {
            record.objective = value;
          }
          changed(record);
          if (settings.halving && record.objective !== null && stoppedAt === null && !halving.report(record.index, metrics.epoch, record.objective)) {
            stoppedAt = metrics.epoch;
            slot.trial?.stop();
          }
        },
      );
    } catch (error) {
      finish(record, { kind: 'failed', reason: error instanceof Error ? error.message : String(error) }, null);
      return;
    }
    slot.trial = trial;
    if (interrupted || stoppedAt !== null) trial.stop();
    finish(record, await trial.exit, stoppedAt);
  };

  const finish = (record: TrialRecord, exit: TrialExit, stoppedAt: number | null) => {
    switch (exit.kind) {
      case 'finished': {
        const value = objective.metric.startsWith('cv_') ? exit.cv[objective.metric] : exit.final[objective.metric];
        if (value === undefined) {
          record.state = 'failed';
          record.reason = `the run printed no ${objective.metric} (choose an objective this task and validation setup print)`;
        } else {
          record.state = 'done';
          record.objective = value;
          record.modelDir = exit.modelDir;
        }
        break;
      }
      case 'stopped':
        record.state = stoppedAt !== null ? 'stopped early' : 'interrupted';
        record.reason = stoppedAt !== null ? `behind the best 1/${DEFAULT_HALVING.eta} at epoch ${stoppedAt}` : 'interrupted (Ctrl-C)';
        break;
      case 'failed':
        record.state = 'failed';
        record.reason = exit.reason;
        break;
    }
    changed(record);
  };

  try {
    let next = 0;
    while (!interrupted && next < records.length) {
      while (!interrupted && running.size < settings.parallel && next < records.length) {
        const record = records[next++]!;
        const slot: { trial: RunningTrial | null; done: Promise<void> } = { trial: null, done: Promise.resolve() };
        slot.done = run(record, slot).finally(() => running.delete(record.index));
        running.set(record.index, slot);
      }
      await Promise.race([...running.values()].map((entry) => entry.done));
    }
    await Promise.all([...running.values()].map((entry) => entry.done));
  } finally {
    settings.signal?.removeEventListener('abort', onAbort);
  }
  return { trials: records, best: bestTrial(records, objective), interrupted };
}

export function bestTrial(records: readonly TrialRecord[], objective: Objective): TrialRecord | null {
  let best: TrialRecord | null = null;
  for (const record of records) {
    if (record.state !== 'done' || record.objective === null || !Number.isFinite(record.objective)) continue;
    if (best === null || isBetter(objective.goal, record.objective, best.objective!)) best = record;
  }
  return best;
}

