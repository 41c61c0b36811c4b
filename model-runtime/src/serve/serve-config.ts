/**
 * Serving settings from the environment SageMaker gives the container, with the defaults
 * SageMaker documents, each checked with a message that names the variable and its range.
 */
import os from 'node:os';
import { expectedDigestFromEnv } from '../artifact/expected-digest.ts';
import { DEFAULT_MAX_PAYLOAD_BYTES } from './read-body.ts';

export interface ServeConfig {
  /** SAGEMAKER_BIND_TO_PORT, default 8080. */
  readonly port: number;
  /** Address to listen on; 0.0.0.0 in a container, loopback for local mode. */
  readonly host: string;
  /** SAGEMAKER_MODEL_SERVER_WORKERS, default one per core. */
  readonly workers: number;
  /** SAGEMAKER_MODEL_SERVER_TIMEOUT (seconds), default 60; here in milliseconds. */
  readonly timeoutMs: number;
  readonly maxPayloadBytes: number;
  /** ONNX Runtime intra-op threads per worker: MODEL_RUNTIME_THREADS, else the cores shared out between workers. */
  readonly threadsPerWorker: number;
  /** MODELSTACK_MAX_BATCH_ROWS, default 256. */
  readonly maxBatchRows: number;
  /** MODELSTACK_BATCH_WINDOW_MS, default 0 (batch whatever queued while the model was busy). */
  readonly batchWindowMs: number;
  /** MODEL_RUNTIME_STREAM_STALL_SECONDS, default 30: how long a stream waits for a client that stopped reading; here in milliseconds. */
  readonly streamStallMs: number;
  /** MODEL_RUNTIME_EXPECTED_DIGEST (lowercased): the sealed manifest digest; null when unset (not checked). */
  readonly expectedDigest: string | null;
}

export const STREAM_STALL_ENV = 'MODEL_RUNTIME_STREAM_STALL_SECONDS';
export const DEFAULT_STREAM_STALL_SECONDS = 30;

export function serveConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ServeConfig> = {}): ServeConfig {
  const cores = os.availableParallelism();
  const workers = overrides.workers ?? integer(env, 'SAGEMAKER_MODEL_SERVER_WORKERS', cores, 1, 256);
  return {
    port: overrides.port ?? integer(env, 'SAGEMAKER_BIND_TO_PORT', 8080, 0, 65535),
    host: overrides.host ?? '0.0.0.0',
    workers,
    timeoutMs: overrides.timeoutMs ?? integer(env, 'SAGEMAKER_MODEL_SERVER_TIMEOUT', 60, 1, 3600) * 1000,
    maxPayloadBytes: overrides.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    threadsPerWorker: overrides.threadsPerWorker ?? (integer(env, 'MODEL_RUNTIME_THREADS', 0, 0, 1024) || Math.max(1, Math.floor(cores / workers))),
    maxBatchRows: overrides.maxBatchRows ?? integer(env, 'MODELSTACK_MAX_BATCH_ROWS', 256, 1, 1_000_000),
    batchWindowMs: overrides.batchWindowMs ?? integer(env, 'MODELSTACK_BATCH_WINDOW_MS', 0, 0, 1000),
    streamStallMs: overrides.streamStallMs ?? integer(env, STREAM_STALL_ENV, DEFAULT_STREAM_STALL_SECONDS, 1, 3600) * 1000,
    expectedDigest: overrides.expectedDigest !== undefined ? overrides.expectedDigest : expectedDigestFromEnv(env),
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} is '${raw}'; expected a whole number from ${min} to ${max}`);
  }
  return value;
}
