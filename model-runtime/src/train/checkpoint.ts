/**
 * Checkpoints in checkpoints/ (SageMaker syncs the folder to S3 and restores it when a job
 * restarts, e.g. after a spot interruption):
 *
 *   checkpoint.json        where the run is (phase, fold, epoch, batch), early-stopping state,
 *                          finished folds, the preprocessing, and which state files belong to it
 *   state-<step>.bin       parameters + optimizer state + step counter now
 *   best-<step>.bin        the same at the best validation loss so far (early stopping)
 *
 * The RNG needs no saving: every random choice is a function of (seed, fold, epoch, step).
 * State files are written first and checkpoint.json last, by rename, so checkpoint.json always
 * points at complete files; files no longer referenced are deleted afterwards.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Preprocessing } from '../data/preprocessing.ts';
import type { MetricName } from '../contract/metrics.ts';
import type { TrainingState } from '../models/trainable-model.ts';

export const CHECKPOINT_FILE = 'checkpoint.json';
const CHECKPOINT_FORMAT = 'modelstack-checkpoint/1';
const STATE_MAGIC = 'MSTATE1\n';

export type EpochMetrics = Partial<Record<MetricName, number>>;

/** How far one model's fit has got. */
export interface FitPosition {
  /** Epochs completed. */
  readonly epoch: number;
  /** Batches completed in the epoch under way. */
  readonly batch: number;
  /** Sum of batch loss x batch size, and rows, in the epoch under way. */
  readonly lossSum: number;
  readonly lossRows: number;
  readonly bestLoss: number | null;
  /** 1-based epoch of the best validation loss. */
  readonly bestEpoch: number | null;
  readonly epochsSinceBest: number;
  readonly history: readonly EpochMetrics[];
}

export interface FoldResult {
  readonly bestEpoch: number;
  readonly metrics: EpochMetrics;
}

export interface CheckpointDocument {
  readonly format: typeof CHECKPOINT_FORMAT;
  /** What must be unchanged for the checkpoint to apply: hyperparameters, schema, row count. */
  readonly fingerprint: string;
  readonly phase: 'cv' | 'final';
  /** The fold under way in the cv phase; null in the final phase. */
  readonly fold: number | null;
  readonly folds: readonly FoldResult[];
  readonly position: FitPosition;
  /** The tabular preprocessing learned; null for families whose fingerprint already covers theirs. */
  readonly preprocessing: Preprocessing | null;
  readonly stateFile: string;
  readonly bestFile: string | null;
}

export interface Checkpoint {
  readonly document: CheckpointDocument;
  readonly state: TrainingState;
  readonly best: TrainingState | null;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export async function writeCheckpoint(
  dir: string,
  content: Omit<CheckpointDocument, 'format' | 'stateFile' | 'bestFile'>,
  state: TrainingState,
  best: TrainingState | null,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tag = `${content.phase}${content.fold ?? ''}-${state.step}`;
  const stateFile = `state-${tag}.bin`;
  const bestFile = best ? `best-${content.phase}${content.fold ?? ''}-${best.step}.bin` : null;
  await writeAtomically(path.join(dir, stateFile), encodeState(state));
  if (best && bestFile) await writeAtomically(path.join(dir, bestFile), encodeState(best));
  const document: CheckpointDocument = { format: CHECKPOINT_FORMAT, ...content, stateFile, bestFile };
  await writeAtomically(path.join(dir, CHECKPOINT_FILE), new TextEncoder().encode(JSON.stringify(document)));
  const keep = new Set([CHECKPOINT_FILE, stateFile, bestFile]);
  for (const name of await readdir(dir)) {
    if (/^(state|best)-.*\.bin$/.test(name) && !keep.has(name)) await rm(path.join(dir, name), { force: true });
  }
}

/** Removes this runtime's checkpoint files (after a finished run: there is nothing left to resume). */
export async function clearCheckpoint(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const name of names) {
    if (name === CHECKPOINT_FILE || /^(state|best)-.*\.bin$/.test(name)) await rm(path.join(dir, name), { force: true });
  }
}

/** The checkpoint in `dir`, or null when there is none. */
export async function readCheckpoint(dir: string): Promise<Checkpoint | null> {
  let text: string;
  try {
    text = await readFile(path.join(dir, CHECKPOINT_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let document: CheckpointDocument;
  try {
    document = JSON.parse(text) as CheckpointDocument;
  } catch (error) {
    throw new CheckpointError(`${path.join(dir, CHECKPOINT_FILE)} is not valid JSON (${(error as Error).message}); remove the checkpoints to start over`);
  }
  if (document.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${path.join(dir, CHECKPOINT_FILE)} has format ${JSON.stringify(document.format)}; expected ${CHECKPOINT_FORMAT}`);
  }
  const state = decodeState(await readFile(path.join(dir, document.stateFile)), document.stateFile);
  const best = document.bestFile ? decodeState(await readFile(path.join(dir, document.bestFile)), document.bestFile) : null;
  return { document, state, best };
}

async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  await writeFile(`${file}.tmp`, bytes);
  await rename(`${file}.tmp`, file);
}

/** `MSTATE1\n`, a uint32 header length, the JSON header (step, names, dims), then float32 data. */
export function encodeState(state: TrainingState): Uint8Array {
  const names = Object.keys(state.tensors).sort();
  const header = new TextEncoder().encode(
    JSON.stringify({ step: state.step, tensors: names.map((name) => ({ name, dims: state.tensors[name]!.dims })) }),
  );
  const floats = names.reduce((sum, name) => sum + state.tensors[name]!.data.length, 0);
  // Pad the header so the float data starts 4-byte aligned.
  const dataStart = Math.ceil((STATE_MAGIC.length + 4 + header.length) / 4) * 4;
  const bytes = new Uint8Array(dataStart + floats * 4);
  bytes.set(new TextEncoder().encode(STATE_MAGIC), 0);
  new DataView(bytes.buffer).setUint32(STATE_MAGIC.length, header.length, true);
  bytes.set(header, STATE_MAGIC.length + 4);
  const data = new Float32Array(bytes.buffer, dataStart, floats);
  let offset = 0;
  for (const name of names) {
    data.set(state.tensors[name]!.data, offset);
    offset += state.tensors[name]!.data.length;
  }
  return bytes;
}

export function decodeState(buffer: Uint8Array, name: string): TrainingState {
  const bytes = new Uint8Array(buffer);
  if (new TextDecoder().decode(bytes.subarray(0, STATE_MAGIC.length)) !== STATE_MAGIC) {
    throw new CheckpointError(`checkpoint file ${name} is not a modelstack training state`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(STATE_MAGIC.length, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(STATE_MAGIC.length + 4, STATE_MAGIC.length + 4 + headerLength))) as {
    step: number;
    tensors: { name: string; dims: number[] }[];
  };
  const dataStart = Math.ceil((STATE_MAGIC.length + 4 + headerLength) / 4) * 4;
  const tensors: Record<string, { dims: number[]; data: Float32Array }> = {};
  let offset = dataStart;
  for (const tensor of header.tensors) {
    const length = tensor.dims.reduce((a, b) => a * b, 1);
    if (offset + length * 4 > bytes.length) throw new CheckpointError(`checkpoint file ${name} is truncated`);
    tensors[tensor.name] = { dims: tensor.dims, data: new Float32Array(bytes.slice(offset, offset + length * 4).buffer) };
    offset += length * 4;
  }
  return { step: header.step, tensors };
}
