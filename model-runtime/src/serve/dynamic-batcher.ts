/**
 * Dynamic batching: requests that arrive while the model is busy (or within a short window)
 * are stacked into one matrix and run as one forward pass; each caller gets back its own rows.
 *
 * When the model is idle a request runs at once (or after `windowMs`), so a lone request waits
 * for nobody; ONNX Runtime starts the run on a later event-loop turn, and every request read
 * meanwhile, or while a run is going, queues up and forms the next batch. A forward pass over
 * 64 rows costs little more than over 1, so this is where the throughput under concurrency
 * comes from.
 */
import type { FeatureMatrix } from './feature-decoder.ts';

export interface BatchRunner {
  /** features (count, F) -> output (count, width) */
  predict(features: Float32Array, count: number): Promise<Float32Array>;
  /** Values per row of predict()'s output: where one caller's rows end and the next one's begin. */
  readonly outputWidth: number;
}

export interface DynamicBatcherOptions {
  /**
   * Rows per forward pass at most; a single request with more rows still runs, alone.
   * @default 256
   */
  readonly maxBatchRows?: number;
  /**
   * How long an idle model waits for companions before running, in milliseconds.
   * @default 0 (runs at once; requests arriving during the run form the next batch)
   */
  readonly windowMs?: number;
}

/** What a caller gets back: its rows of the output, and the size of the pass that computed them. */
export interface BatchResult {
  readonly output: Float32Array; // (count, width)
  readonly batchRows: number;
  readonly batchRequests: number;
}

interface Pending {
  readonly input: FeatureMatrix;
  readonly resolve: (result: BatchResult) => void;
  readonly reject: (error: unknown) => void;
}

export class DynamicBatcher {
  private readonly maxBatchRows: number;
  private readonly windowMs: number;
  private queue: Pending[] = [];
  private running = false;
  private scheduled = false;

  constructor(
    private readonly model: BatchRunner,
    options: DynamicBatcherOptions = {},
  ) {
    this.maxBatchRows = options.maxBatchRows ?? 256;
    this.windowMs = options.windowMs ?? 0;
  }

  predict(input: FeatureMatrix): Promise<BatchResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.schedule();
    });
  }

  /** `afterRun`: requests that queued during a run go at once; only an idle model waits `windowMs`. */
  private schedule(afterRun = false): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    const flush = (): void => {
      this.scheduled = false;
      void this.runNext();
    };
    if (this.windowMs > 0 && !afterRun) setTimeout(flush, this.windowMs);
    else queueMicrotask(flush);
  }

  /** Takes requests off the queue up to maxBatchRows (always at least one) and runs them as one pass. */
  private async runNext(): Promise<void> {
    if (this.queue.length === 0) return;
    this.running = true;
    let rows = 0;
    let take = 0;
    while (take < this.queue.length && (take === 0 || rows + this.queue[take]!.input.count <= this.maxBatchRows)) {
      rows += this.queue[take]!.input.count;
      take += 1;
    }
    const batch = this.queue.splice(0, take);
    try {
      const features = batch.length === 1 ? batch[0]!.input.values : concatenate(batch);
      const output = await this.model.predict(features, rows); // (rows, width)
      let offset = 0;
      for (const pending of batch) {
        const end = offset + pending.input.count * this.model.outputWidth;
        pending.resolve({ output: output.subarray(offset, end), batchRows: rows, batchRequests: batch.length });
        offset = end;
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule(true);
    }
  }
}

function concatenate(batch: readonly Pending[]): Float32Array {
  const features = new Float32Array(batch.reduce((total, pending) => total + pending.input.values.length, 0)); // (rows, F)
  let offset = 0;
  for (const pending of batch) {
    features.set(pending.input.values, offset);
    offset += pending.input.values.length;
  }
  return features;
}
