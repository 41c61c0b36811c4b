/**
 * The first pass over the training channel: the schema, the row count per file and per
 * partition, the feature and target statistics per partition, and the labels. When the data
 * fits the memory budget the rows are kept, so later epochs need no parsing at all; otherwise
 * they are dropped and every epoch streams from the files again.
 */
import type { DataFile } from './channel-files.ts';
import { DataError } from './data-error.ts';
import { fitsFloat32 } from '../numbers.ts';
import { partitionCount, partitionOf, type Partitioning } from './partitioning.ts';
import { ColumnStatistics } from './statistics.ts';
import { MAX_CLASSES, type LabelSummary } from './task.ts';
import type { TableReader, TableSchema } from './table.ts';

export interface ScanOptions {
  readonly partitioning: Partitioning;
  readonly seed: number;
  /** Keep the rows in memory only while they take fewer bytes than this. */
  readonly maxInMemoryBytes: number;
}

/** Rows kept from the scan, in file order. */
export interface RowCache {
  /** (N, F) raw features, row-major. */
  readonly features: Float64Array;
  readonly labels: readonly string[];
  readonly partitions: Uint16Array;
}

export interface DataScan {
  readonly schema: TableSchema;
  readonly rows: number;
  /** Rows per file, in file order: gives each row its global index when files are read out of order. */
  readonly rowsPerFile: readonly number[];
  readonly rowsPerPartition: readonly number[];
  readonly featureStats: readonly ColumnStatistics[];
  /** Numeric labels only (else null): statistics of the label as a number, per partition. */
  readonly targetStats: readonly ColumnStatistics[] | null;
  readonly labels: LabelSummary;
  /** The first numeric label beyond float32, where it is: a regression cannot answer it (a class may be named so). */
  readonly firstLabelBeyondFloat32: { readonly file: string; readonly line: number; readonly label: string } | null;
  readonly cache: RowCache | null;
}

/** Bytes a cached row costs: its features as float64 plus the label string and bookkeeping. */
function rowBytes(width: number): number {
  return width * 8 + 64;
}

export async function scanTrainingData(files: readonly DataFile[], reader: TableReader, options: ScanOptions): Promise<DataScan> {
  const parts = partitionCount(options.partitioning);
  let featureStats: ColumnStatistics[] = [];
  const targetStats = Array.from({ length: parts }, () => new ColumnStatistics(1));
  const rowsPerPartition = new Array<number>(parts).fill(0);
  const rowsPerFile: number[] = [];
  const counts = new Map<string, number>();
  let overflow = false;
  let allNumeric = true;
  let allInteger = true;
  let firstLabelBeyondFloat32: DataScan['firstLabelBeyondFloat32'] = null;

  let cacheFeatures: number[] | null = [];
  let cacheLabels: string[] | null = [];
  let cachePartitions: number[] | null = [];
  let width = 0;
  let index = 0;
  const target = [0];

  for (const file of files) {
    let inFile = 0;
    for await (const row of reader.rows([file])) {
      if (index === 0) {
        width = row.features.length;
        featureStats = Array.from({ length: parts }, () => new ColumnStatistics(width));
      }
      const partition = partitionOf(options.partitioning, options.seed, index);
      featureStats[partition]!.add(row.features);
      rowsPerPartition[partition]!++;
      const numeric = Number(row.label);
      if (allNumeric && Number.isFinite(numeric)) {
        if (!Number.isInteger(numeric)) allInteger = false;
        if (firstLabelBeyondFloat32 === null && !fitsFloat32(numeric)) firstLabelBeyondFloat32 = { file: row.file, line: row.line, label: row.label };
        target[0] = numeric;
        targetStats[partition]!.add(target);
      } else {
        allNumeric = false;
        allInteger = false;
      }
      if (!overflow) {
        counts.set(row.label, (counts.get(row.label) ?? 0) + 1);
        if (counts.size > MAX_CLASSES) overflow = true;
      }
      if (cacheFeatures !== null) {
        if ((index + 1) * rowBytes(width) > options.maxInMemoryBytes) {
          cacheFeatures = cacheLabels = cachePartitions = null;
        } else {
          for (const value of row.features) cacheFeatures.push(value);
          cacheLabels!.push(row.label);
          cachePartitions!.push(partition);
        }
      }
      index++;
      inFile++;
    }
    rowsPerFile.push(inFile);
  }
  if (index === 0) throw new DataError(`the training data (${files.map((f) => f.name).join(', ')}) has no rows`);
  return {
    schema: reader.schema,
    rows: index,
    rowsPerFile,
    rowsPerPartition,
    featureStats,
    targetStats: allNumeric ? targetStats : null,
    labels: { counts, overflow, allNumeric, allInteger },
    firstLabelBeyondFloat32,
    cache:
      cacheFeatures === null
        ? null
        : { features: Float64Array.from(cacheFeatures), labels: cacheLabels!, partitions: Uint16Array.from(cachePartitions!) },
  };
}
