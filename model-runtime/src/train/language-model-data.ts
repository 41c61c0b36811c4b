/**
 * The language model's data, as nanoGPT prepares it: the documents become one token stream
 * (each document followed by the end-of-text token, as GPT-2 separates them), the validation
 * part is the stream's last fraction (split by position, so no window straddles both), and a
 * training batch is batch_size windows of context_length + 1 tokens at random offsets.
 *
 * The offsets are a pure function of (seed, step, row), so a run resumed at step s draws the
 * batches the uninterrupted run drew; the evaluation windows are fixed, evenly spaced over the
 * validation stream, so validation losses at different steps compare.
 */
import * as ort from 'onnxruntime-node';
import { uniformAt } from '../data/random.ts';
import { INPUT_IDS, TARGETS } from '../models/gpt.ts';
import type { Tokenizer } from '../text/tokenizer.ts';

/** Seed stream of the window offsets (the data pipeline uses 1-3, weights 101, tabular dropout 102). */
const WINDOW_STREAM = 103;

export class LanguageModelDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LanguageModelDataError';
  }
}

/** The documents' tokens, each document followed by `separator` when there is one. */
export function tokenStream(tokenizer: Tokenizer, documents: readonly string[], separator: number | null): Int32Array {
  const parts = documents.map((d) => tokenizer.encode(d));
  const length = parts.reduce((n, p) => n + p.length + (separator === null ? 0 : 1), 0);
  const stream = new Int32Array(length);
  let at = 0;
  for (const part of parts) {
    stream.set(part, at);
    at += part.length;
    if (separator !== null) stream[at++] = separator;
  }
  return stream;
}

/** The last `fraction` of the stream for validation, the rest for training. */
export function splitByPosition(stream: Int32Array, fraction: number): { train: Int32Array; validation: Int32Array } {
  const cut = stream.length - Math.round(stream.length * fraction);
  return { train: stream.subarray(0, cut), validation: stream.subarray(cut) };
}

/** Refuses a stream too short for one window of context_length inputs and their targets. */
export function checkStreamLength(stream: Int32Array, contextLength: number, what: string): void {
  if (stream.length < contextLength + 1) {
    throw new LanguageModelDataError(
      `${what} has ${stream.length} tokens; one training window needs context_length + 1 = ${contextLength + 1}: add text, or lower context_length`,
    );
  }
}

export interface WindowBatch {
  readonly feeds: Record<string, ort.Tensor>;
  /** Tokens predicted in the batch (B x T). */
  readonly tokens: number;
}

/** The windows starting at `starts` as input_ids and targets (B, T) int64. */
export function windowBatch(stream: Int32Array, starts: readonly number[], contextLength: number): WindowBatch {
  const inputs = new BigInt64Array(starts.length * contextLength);
  const targets = new BigInt64Array(starts.length * contextLength);
  starts.forEach((start, row) => {
    for (let t = 0; t < contextLength; t++) {
      inputs[row * contextLength + t] = BigInt(stream[start + t]!);
      targets[row * contextLength + t] = BigInt(stream[start + t + 1]!);
    }
  });
  const dims = [starts.length, contextLength];
  return { feeds: { [INPUT_IDS]: new ort.Tensor('int64', inputs, dims), [TARGETS]: new ort.Tensor('int64', targets, dims) }, tokens: inputs.length };
}

/** Where step `step`'s batchSize windows start: seeded random offsets. */
export function trainingWindowStarts(streamLength: number, seed: number, step: number, batchSize: number, contextLength: number): number[] {
  const offsets = streamLength - contextLength; // starts 0 .. length - T - 1
  return Array.from({ length: batchSize }, (_, row) => Math.floor(uniformAt(seed, WINDOW_STREAM, step * batchSize + row) * offsets));
}

/** Step `step`'s training batch. */
export function trainingBatch(stream: Int32Array, seed: number, step: number, batchSize: number, contextLength: number): WindowBatch {
  return windowBatch(stream, trainingWindowStarts(stream.length, seed, step, batchSize, contextLength), contextLength);
}

/** Where the evaluation windows start, batch by batch: up to `batches` batches evenly spaced over the stream. */
export function evaluationWindowStarts(streamLength: number, batches: number, batchSize: number, contextLength: number): number[][] {
  const last = streamLength - contextLength - 1;
  const windows = Math.min(batches * batchSize, last + 1);
  const starts = Array.from({ length: windows }, (_, k) => (windows === 1 ? 0 : Math.round((k * last) / (windows - 1))));
  const out: number[][] = [];
  for (let i = 0; i < starts.length; i += batchSize) out.push(starts.slice(i, i + batchSize));
  return out;
}

export function evaluationBatches(stream: Int32Array, batches: number, batchSize: number, contextLength: number): WindowBatch[] {
  return evaluationWindowStarts(stream.length, batches, batchSize, contextLength).map((starts) => windowBatch(stream, starts, contextLength));
}
