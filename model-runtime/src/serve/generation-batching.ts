/**
 * The bounds of a language model's continuous batching (models/generation-scheduler.ts), from
 * the environment, and the answer to a request that finds the batch and its queue full.
 *
 *   MODEL_RUNTIME_MAX_BATCH_SEQUENCES   sequences generating at once              default 16
 *   MODEL_RUNTIME_MAX_BATCH_TOKENS      cached positions they may reserve,        default 16384
 *                                       each its prompt plus max_new_tokens
 *                                       (within the context length)
 *   MODEL_RUNTIME_MAX_BATCH_QUEUE       requests waiting for room                 default 64
 *   MODEL_RUNTIME_MAX_PREFILL_POSITIONS padded positions of one prefill run       default 2048
 *                                       (rows x longest prompt; at least one
 *                                       context length): its logits' memory
 *
 * The bounds hold per worker process (SAGEMAKER_MODEL_SERVER_WORKERS), each having its own
 * model. Past the queue a request is answered 429 with Retry-After (estimated from the batch's
 * step time and its rows' tokens left: RETRY_AFTER_RANGE), which SageMaker passes on and the
 * SDK's retry strategy honours.
 */
import { DEFAULT_MAX_PREFILL_POSITIONS, type SchedulerFullError, type SchedulerLimits } from '../models/generation-scheduler.ts';
import { HttpError } from './http-error.ts';

export const MAX_BATCH_SEQUENCES_ENV = 'MODEL_RUNTIME_MAX_BATCH_SEQUENCES';
export const MAX_BATCH_TOKENS_ENV = 'MODEL_RUNTIME_MAX_BATCH_TOKENS';
export const MAX_BATCH_QUEUE_ENV = 'MODEL_RUNTIME_MAX_BATCH_QUEUE';
export const MAX_PREFILL_POSITIONS_ENV = 'MODEL_RUNTIME_MAX_PREFILL_POSITIONS';

export const DEFAULT_BATCH_LIMITS: SchedulerLimits = { maxSequences: 16, maxTokens: 16_384, maxQueued: 64, maxPrefillPositions: DEFAULT_MAX_PREFILL_POSITIONS };

/**
 * Retry-After, the whole seconds a refused client is told to wait: until the queue's head is
 * admitted, which frees a place in the queue (or, with no queue, until the request itself fits):
 *
 *     Retry-After = clamp(ceil(stepSeconds x stepsUntilRoom), 1, 60)
 *
 * stepSeconds: the exponentially weighted mean (newest step 0.2) of the scheduler's measured
 * step times; stepsUntilRoom: the running rows taken fewest new tokens left (max_new_tokens less
 * those made) first, until the bounds leave room (models/admission-estimate.ts). Before any step
 * was timed, the floor. The floor keeps clients from spinning on an estimate of a few
 * milliseconds; the ceiling keeps one long max_new_tokens from sending them away for minutes
 * when rows usually end early, at an end token or a stop.
 */
export const RETRY_AFTER_RANGE = { min: 1, max: 60 } as const;

/** The estimate in seconds (null: none yet) as Retry-After's whole seconds, within RETRY_AFTER_RANGE. */
export function retryAfterSeconds(waitSeconds: number | null): number {
  const { min, max } = RETRY_AFTER_RANGE;
  if (waitSeconds === null || !Number.isFinite(waitSeconds)) return waitSeconds === Infinity ? max : min;
  return Math.min(max, Math.max(min, Math.ceil(waitSeconds)));
}

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
    maxPrefillPositions: whole(env, MAX_PREFILL_POSITIONS_ENV, DEFAULT_MAX_PREFILL_POSITIONS, 1, 100_000_000),
  };
}

/** 429 naming the bound that was hit and the variable that sets it. */
export function batchFullResponse(error: SchedulerFullError): HttpError {
  const variable = error.limit === 'sequences' ? MAX_BATCH_SEQUENCES_ENV : MAX_BATCH_TOKENS_ENV;
  const seconds = retryAfterSeconds(error.waitSeconds);
  return new HttpError(429, 'TooManyRequests', `the model is at capacity: ${error.message} (${variable}, ${MAX_BATCH_QUEUE_ENV}); retry after ${seconds} s`, { 'retry-after': String(seconds) });
}

function whole(env: NodeJS.ProcessEnv, variable: string, fallback: number, min: number, max: number): number {
  const text = env[variable];
  if (text === undefined || text.trim() === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new BatchingSettingError(variable, text, min, max);
  return n;
}
