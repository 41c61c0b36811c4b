/**
 * What every training run starts from, whatever the algorithm: the job's folders (checkpoints
 * resolved), its hyperparameters and channel configuration, where its events go, the stop
 * signal (SIGTERM), and the versions model.json records.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelDescription } from '../artifact/model-description.ts';
import { checkpointDirectory } from '../contract/checkpoint-location.ts';
import { givenHyperparameterNames, HyperparameterError, parseHyperparameters, type Hyperparameters } from '../contract/hyperparameters.ts';
import { readInputDataConfig, type InputDataConfig } from '../contract/input-data-config.ts';
import type { RuntimePaths } from '../contract/paths.ts';
import type { TrainingEvent } from './training-events.ts';
import { logTrainingLines } from './training-log.ts';

export interface TrainingOptions {
  /**
   * Receives the run's events (training-events.ts) as they happen.
   * @default the lines `model-runtime train` prints, on stdout
   */
  readonly onEvent?: (event: TrainingEvent) => void;
  /** Stops the run after writing a checkpoint (main.ts aborts it on SIGTERM). */
  readonly signal?: AbortSignal;
  /**
   * Data smaller than this is held in memory; larger data streams from the files every epoch.
   * @default MODEL_RUNTIME_MAX_IN_MEMORY_MB (in MiB), else 512 MiB
   */
  readonly maxInMemoryBytes?: number;
}

export interface TrainingJob {
  /** SageMaker's folders, with `checkpoints` where this job's checkpoints live. */
  readonly paths: RuntimePaths;
  readonly hp: Hyperparameters;
  /** The names hyperparameters.json set; the rest are defaults, which a rule may choose (train/tabular-defaults.ts). */
  readonly givenHyperparameters: ReadonlySet<string>;
  readonly inputConfig: InputDataConfig;
  readonly emit: (event: TrainingEvent) => void;
  /** Aborted on SIGTERM (or a closed stdout): checkpoint, then throw TrainingStopped. */
  readonly signal: AbortSignal | undefined;
  readonly maxInMemoryBytes: number;
}

const DEFAULT_MAX_IN_MEMORY_MB = 512;

export async function openTrainingJob(sagemakerPaths: RuntimePaths, options: TrainingOptions): Promise<TrainingJob> {
  const emit = options.onEvent ?? logTrainingLines((line) => console.log(line));
  const paths: RuntimePaths = { ...sagemakerPaths, checkpoints: await checkpointDirectory(sagemakerPaths) };
  const { hp, given } = await readHyperparameters(paths.hyperparameters);
  const inputConfig = await readInputDataConfig(paths.inputDataConfig);
  return { paths, hp, givenHyperparameters: given, inputConfig, emit, signal: options.signal, maxInMemoryBytes: options.maxInMemoryBytes ?? maxInMemoryFromEnv() };
}

/** model.json's `versions`. */
export async function runtimeVersions(): Promise<ModelDescription['versions']> {
  const manifest = JSON.parse(await readFile(path.join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return { modelstack: manifest.version, onnxruntime: ort.env.versions.node ?? 'unknown', node: process.versions.node };
}

async function readHyperparameters(file: string): Promise<{ hp: Hyperparameters; given: Set<string> }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { hp: parseHyperparameters({}), given: new Set() };
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new HyperparameterError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  return { hp: parseHyperparameters(raw), given: givenHyperparameterNames(raw) };
}

function maxInMemoryFromEnv(): number {
  const text = process.env.MODEL_RUNTIME_MAX_IN_MEMORY_MB;
  const mb = text === undefined || text === '' ? DEFAULT_MAX_IN_MEMORY_MB : Number(text);
  if (!Number.isFinite(mb) || mb < 0) {
    throw new Error(`MODEL_RUNTIME_MAX_IN_MEMORY_MB=${JSON.stringify(text)} must be a number of MiB >= 0`);
  }
  return mb * 1024 * 1024;
}
