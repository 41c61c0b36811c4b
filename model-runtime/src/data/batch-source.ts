/**
 * Mini-batches for the training loop, from rows held in memory or streamed from the files.
 *
 * In memory: every epoch is a full seeded permutation of the rows. Streaming (data larger than
 * the memory budget): every epoch reads the files in a seeded order through a seeded shuffle
 * buffer, so memory stays bounded by the buffer however large the data. Either way the order
 * depends only on (seed, epoch key), which is what makes runs repeatable and resumable.
 */
import type { Batch } from './batch.ts';
import type { DataFile } from './channel-files.ts';
import { BatchBuilder, labelEncoder, type LabelEncoder, type Preprocessing } from './preprocessing.ts';
import { RANDOM_STREAM, createRandom, hash32, shuffleInPlace } from './random.ts';
import type { RowCache } from './scan.ts';
import type { TableReader } from './table.ts';

export interface BatchSource {
  /** Rows in this source. */
  readonly rows: number;
  /** One epoch of batches in the seeded order for `epochKey`; the first `skip` batches are left out (resume). */
  epoch(epochKey: number, batchSize: number, skip?: number): AsyncGenerator<Batch>;
  /** Every row once, in file order, for evaluation. */
  inOrder(batchSize: number): AsyncGenerator<Batch>;
}

/** Rows held in memory: raw features and encoded labels. */
export interface MemoryRows {
  /** (N, F) raw features. */
  readonly features: Float64Array;
  /** (N) encoded labels (class ids or raw targets). */
  readonly labels: Float64Array;
}

export class MemoryBatchSource implements BatchSource {
  private readonly builder: BatchBuilder;
  private readonly width: number;
  readonly rows: number;

  /** `indices`: which rows of `data` belong to this source, in stored order. */
  constructor(
    private readonly data: MemoryRows,
    private readonly indices: Uint32Array,
    pre: Preprocessing,
    private readonly seed: number,
  ) {
    this.builder = new BatchBuilder(pre);
    this.width = pre.featureMean.length;
    this.rows = indices.length;
  }

  /** The rows of a scan's cache whose partition is included. */
  static fromCache(cache: RowCache, include: (partition: number) => boolean, pre: Preprocessing, seed: number): MemoryBatchSource {
    const encode = labelEncoder(pre);
    const labels = Float64Array.from(cache.labels, (label, i) => encode(label, 'training data', i + 1));
    const selected: number[] = [];
    cache.partitions.forEach((partition, i) => {
      if (include(partition)) selected.push(i);
    });
    return new MemoryBatchSource({ features: cache.features, labels }, Uint32Array.from(selected), pre, seed);
  }

  async *epoch(epochKey: number, batchSize: number, skip = 0): AsyncGenerator<Batch> {
    const order = Uint32Array.from(this.indices);
    shuffleInPlace(order, createRandom(hash32(this.seed, RANDOM_STREAM.epochOrder, epochKey)));
    yield* this.batchesOf(order, batchSize, skip);
  }

  async *inOrder(batchSize: number): AsyncGenerator<Batch> {
    yield* this.batchesOf(this.indices, batchSize, 0);
  }

  private *batchesOf(order: Uint32Array, batchSize: number, skip: number): Generator<Batch> {
    const { data, width } = this;
    for (let start = skip * batchSize; start < order.length; start += batchSize) {
      const size = Math.min(batchSize, order.length - start);
      yield this.builder.build(
        size,
        (i) => data.features.subarray(order[start + i]! * width, (order[start + i]! + 1) * width),
        (i) => data.labels[order[start + i]!]!,
      );
    }
  }
}

export interface StreamOptions {
  readonly files: readonly DataFile[];
  /** A fresh reader checking the training schema (readers keep per-file state). */
  readonly reader: () => TableReader;
  /** Whether the row with this global index belongs to the source; default: every row. */
  readonly include?: (rowIndex: number) => boolean;
  /** Rows per file, in `files` order, to give each row its global index; needed with `include`. */
  readonly rowsPerFile?: readonly number[];
  /** Rows that pass `include`. */
  readonly rows: number;
  readonly pre: Preprocessing;
  readonly seed: number;
  /** Rows the shuffle buffer holds. */
  readonly shuffleBufferRows: number;
}

export class StreamBatchSource implements BatchSource {
  private readonly builder: BatchBuilder;
  private readonly encode: LabelEncoder;
  readonly rows: number;

  constructor(private readonly options: StreamOptions) {
    this.builder = new BatchBuilder(options.pre);
    this.encode = labelEncoder(options.pre);
    this.rows = options.rows;
  }

  async *epoch(epochKey: number, batchSize: number, skip = 0): AsyncGenerator<Batch> {
    const { files, seed, shuffleBufferRows } = this.options;
    const fileOrder = Uint32Array.from(files.keys());
    shuffleInPlace(fileOrder, createRandom(hash32(seed, RANDOM_STREAM.fileOrder, epochKey)));
    const random = createRandom(hash32(seed, RANDOM_STREAM.epochOrder, epochKey));
    // Reservoir-style buffer: once full, each incoming row replaces a random resident, which is emitted.
    const buffer: EncodedRow[] = [];
    const pending: EncodedRow[] = [];
    let batchIndex = 0;
    for await (const row of this.rowsOf([...fileOrder])) {
      if (buffer.length < shuffleBufferRows) {
        buffer.push(row);
        continue;
      }
      const j = Math.floor(random() * buffer.length);
      pending.push(buffer[j]!);
      buffer[j] = row;
      if (pending.length === batchSize) {
        const rows = pending.splice(0, batchSize);
        if (batchIndex++ >= skip) yield this.toBatch(rows);
      }
    }
    shuffleInPlace(buffer, random);
    pending.push(...buffer);
    for (let start = 0; start < pending.length; start += batchSize) {
      if (batchIndex++ >= skip) yield this.toBatch(pending.slice(start, start + batchSize));
    }
  }

  async *inOrder(batchSize: number): AsyncGenerator<Batch> {
    let pending: EncodedRow[] = [];
    for await (const row of this.rowsOf([...this.options.files.keys()])) {
      pending.push(row);
      if (pending.length === batchSize) {
        yield this.toBatch(pending);
        pending = [];
      }
    }
    if (pending.length > 0) yield this.toBatch(pending);
  }

  /** The included rows of the files, in the order of `fileIndices`, labels encoded. */
  private async *rowsOf(fileIndices: readonly number[]): AsyncGenerator<EncodedRow> {
    const { files, rowsPerFile = [], include = () => true, reader } = this.options;
    const offsets = files.map((_, i) => rowsPerFile.slice(0, i).reduce((a, b) => a + b, 0));
    const rows = reader();
    for (const f of fileIndices) {
      let index = offsets[f]!;
      for await (const row of rows.rows([files[f]!])) {
        if (include(index++)) yield { features: row.features, label: this.encode(row.label, row.file, row.line) };
      }
    }
  }

  private toBatch(rows: readonly EncodedRow[]): Batch {
    return this.builder.build(
      rows.length,
      (i) => rows[i]!.features,
      (i) => rows[i]!.label,
    );
  }
}

interface EncodedRow {
  readonly features: Float64Array;
  readonly label: number;
}
