/**
 * The language model's checkpoints in checkpoints/: checkpoint.json (where the run is) and
 * state-<step>.bin (parameters, AdamW state and step, in checkpoint.ts's format). Nothing random
 * needs saving: the batches and dropout masks are functions of (seed, step), and the tokenizer
 * is learned again, identically, from the same text.
 */
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { TrainingState } from '../models/trainable-model.ts';
import { CHECKPOINT_FILE, CheckpointError, decodeState, encodeState, readCheckpointJson, writeAtomically, type EpochMetrics } from './checkpoint.ts';

const FORMAT = 'modelstack-language-model-checkpoint/1';

export interface LanguageModelPosition {
  /** Optimizer steps done. */
  readonly step: number;
  /** Training losses summed since the last evaluation, and how many. */
  readonly intervalLossSum: number;
  readonly intervalSteps: number;
  /** The metric lines printed so far. */
  readonly history: readonly EpochMetrics[];
}

interface Document extends LanguageModelPosition {
  readonly format: typeof FORMAT;
  /** Hyperparameters and data the checkpoint belongs to. */
  readonly fingerprint: string;
  readonly stateFile: string;
}

export async function writeLanguageModelCheckpoint(dir: string, fingerprint: string, position: LanguageModelPosition, state: TrainingState): Promise<void> {
  await mkdir(dir, { recursive: true });
  const stateFile = `state-lm-${state.step}.bin`;
  await writeAtomically(path.join(dir, stateFile), encodeState(state));
  const document: Document = { format: FORMAT, fingerprint, ...position, stateFile };
  await writeAtomically(path.join(dir, CHECKPOINT_FILE), new TextEncoder().encode(JSON.stringify(document)));
  for (const name of await readdir(dir)) {
    if (/^state-lm-\d+\.bin$/.test(name) && name !== stateFile) await rm(path.join(dir, name), { force: true });
  }
}

/** The checkpoint in `dir`, or null; refused when it belongs to another run (other fingerprint or format). */
export async function readLanguageModelCheckpoint(dir: string, fingerprint: string): Promise<{ position: LanguageModelPosition; state: TrainingState } | null> {
  const document = (await readCheckpointJson(dir)) as Document | null;
  if (document === null) return null;
  if (document.format !== FORMAT) {
    throw new CheckpointError(`${path.join(dir, CHECKPOINT_FILE)} has format ${JSON.stringify(document.format)}, not a language model's (${FORMAT}); remove it to start over`);
  }
  if (document.fingerprint !== fingerprint) {
    throw new CheckpointError(`the checkpoint in ${dir} was written by a run with other hyperparameters or text; remove it (or use a new checkpoint location) to start over`);
  }
  const state = decodeState(await readFile(path.join(dir, document.stateFile)), document.stateFile);
  const { step, intervalLossSum, intervalSteps, history } = document;
  return { position: { step, intervalLossSum, intervalSteps, history }, state };
}
