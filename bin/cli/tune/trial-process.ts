/**
 * One tuning trial: a runtime training run in its own child process, in its own SageMaker job
 * folder (MODEL_RUNTIME_ROOT), exactly as `model-runtime train` runs in the container. Its stdout
 * metric lines are read back as they come; stopping it sends SIGTERM, which the runtime answers
 * with a checkpoint and a clean exit.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runtimePaths } from '../../../model-runtime/src/contract/paths.ts';
import { layOutJob } from '../train.ts';
import { parseMetricLine, type Metrics } from './metric-line.ts';

const RUNTIME_MAIN = fileURLToPath(new URL('../../../model-runtime/src/main.ts', import.meta.url));
/** Absolute, so the child finds the loader whatever folder `modelstack tune` runs in. */
const TSX_LOADER = import.meta.resolve('tsx');

export interface TrialJob {
  /** The trial's own job folder (created empty by the caller). */
  readonly root: string;
  readonly data: string;
  readonly validation?: string;
  /** hyperparameters.json, every value a string (the trial's seed included). */
  readonly hyperparameters: Readonly<Record<string, string>>;
  /** ONNX Runtime threads for the child, so P trials at once do not oversubscribe the cores. */
  readonly threads: number;
}

export type MetricLineKind = 'epoch' | 'final' | 'cv';

export type TrialExit =
  | { readonly kind: 'finished'; readonly modelDir: string; readonly final: Metrics; readonly cv: Metrics }
  | { readonly kind: 'stopped' }
  | { readonly kind: 'failed'; readonly reason: string };

export interface RunningTrial {
  /** Sends SIGTERM (idempotent); `exit` resolves once the child is gone. */
  stop(): void;
  readonly exit: Promise<TrialExit>;
}

/** Lines of stderr kept for a failure the runtime could not write to output/failure. */
const STDERR_TAIL_LINES = 5;

export async function startTrial(job: TrialJob, onMetrics: (kind: MetricLineKind, metrics: Metrics) => void): Promise<RunningTrial> {
  const paths = runtimePaths(job.root);
  await layOutJob(paths, job.data, { hyperparameters: job.hyperparameters, validation: job.validation });
  const child = spawn(process.execPath, ['--import', TSX_LOADER, RUNTIME_MAIN, 'train'], {
    env: { ...process.env, MODEL_RUNTIME_ROOT: job.root, MODEL_RUNTIME_THREADS: process.env.MODEL_RUNTIME_THREADS ?? String(job.threads) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C at the terminal reaches the tuner only, which stops each trial with SIGTERM (a checkpoint, a clean exit).
    detached: true,
  });
  let stopRequested = false;
  let lastEpoch = 0;
  let final: Metrics = {};
  let cv: Metrics = {};
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const metrics = parseMetricLine(line);
    if (metrics === null) return;
    // The kept model's evaluation repeats its (best) epoch; a new epoch number is a new epoch.
    let kind: MetricLineKind;
    if (Object.keys(metrics).some((name) => name.startsWith('cv_'))) {
      kind = 'cv';
      cv = metrics;
    } else if (metrics.epoch !== undefined && metrics.epoch > lastEpoch) {
      kind = 'epoch';
      lastEpoch = metrics.epoch;
    } else {
      kind = 'final';
      final = metrics;
    }
    onMetrics(kind, metrics);
  });
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
  });
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const exit = closed.then(async (code): Promise<TrialExit> => {
    if (stopRequested) return { kind: 'stopped' };
    if (code === 0) return { kind: 'finished', modelDir: paths.model, final, cv };
    const failure = await readFile(paths.failure, 'utf8').catch(() => undefined);
    return { kind: 'failed', reason: (failure ?? stderrTail.join(' ')).trim() || `the training process exited with status ${code}` };
  }, (error: Error) => ({ kind: 'failed', reason: `could not start the training process: ${error.message}` }) as const);
  return {
    stop() {
      if (stopRequested || child.exitCode !== null) return;
      stopRequested = true;
      child.kill('SIGTERM');
    },
    exit,
  };
}

/** The trial's job folder under the tuning run's work folder. */
export function trialRoot(workDir: string, index: number): string {
  return path.join(workDir, `trial-${String(index).padStart(3, '0')}`);
}
