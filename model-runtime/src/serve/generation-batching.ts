/**
 * The bounds of a language model's continuous batching (models/generation-scheduler.ts), from
 * the environment, and the answer to a request that finds the batch and its queue full.
 *
 *   MODEL_RUNTIME_MAX_BATCH_SEQUENCES   sequences generating at once              default 16
 *   MODEL_RUNTIME_MAX_BATCH_TOKENS      cached positions they may reserve,        default 16384
 *                                       each its prompt plus max_new_tokens
 *                                       (within the context length)
 *   MODEL_RUNTIME_MAX_BATCH_QUEUE       requests waiting for room                 default 64
 *
 * The bounds hold per worker process (SAGEMAKER_MODEL_SERVER_WORKERS), each having its own
 * model. Past the queue a request is answered 429 with Retry-After, which SageMaker passes on
 * and the SDK's retry strategy honours.
 */
import type { SchedulerFullError, SchedulerLimits } from '../models/generation-scheduler.ts';
import { HttpError } from './http-error.ts';

export const MAX_BATCH_SEQUENCES_ENV = 'MODEL_RUNTIME_MAX_BATCH_SEQUENCES';
export const MAX_BATCH_TOKENS_ENV = 'MODEL_RUNTIME_MAX_BATCH_TOKENS';
export const MAX_BATCH_QUEUE_ENV = 'MODEL_RUNTIME_MAX_BATCH_QUEUE';

export const DEFAULT_BATCH_LIMITS: SchedulerLimits = { maxSequences: 16, maxTokens: 16_384, maxQueued: 64 };

/** Seconds a refused client is told to wait: about the time a few generations take to make room. */
export const RETRY_AFTER_SECONDS = 1;

/** A batching variable that is not a whole number in its range. */
export class BatchingSettingError extends Error {
  constructor(
    readonly variable: string,
    readonly value: string,
    min: number,
    max: number,
  ) {
    super(`${variable}=${JSON.stringify(value)} must be a whole number from ${min} to ${max}`);
    this.name = 'BatchingSettingError';
  }
}

export function batchLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): SchedulerLimits {
  return {
    maxSequences: whole(env, MAX_BATCH_SEQUENCES_ENV, DEFAULT_BATCH_LIMITS.maxSequences, 1, 4096),
    maxTokens: whole(env, MAX_BATCH_TOKENS_ENV, DEFAULT_BATCH_LIMITS.maxTokens, 1, 100_000_000),
    maxQueued: whole(env, MAX_BATCH_QUEUE_ENV, DEFAULT_BATCH_LIMITS.maxQueued, 0, 1_000_000),
  };
}

/** 429 naming the bound that was hit and the variable that sets it. */
export function batchFullResponse(error: SchedulerFullError): HttpError {
  const variable = error.limit === 'sequences' ? MAX_BATCH_SEQUENCES_ENV : MAX_BATCH_TOKENS_ENV;
  return new HttpError(
    429,
    'TooManyRequests',
    `the model is at capacity: ${error.message} (${variable}, ${MAX_BATCH_QUEUE_ENV}); retry after ${RETRY_AFTER_SECONDS} s`,
    { 'retry-after': String(RETRY_AFTER_SECONDS) },
  );
}

function whole(env: NodeJS.ProcessEnv, variable: string, fallback: number, min: number, max: number): number {
  const text = env[variable];
  if (text === undefined || text.trim() === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new BatchingSettingError(variable, text, min, max);
  return n;
}
