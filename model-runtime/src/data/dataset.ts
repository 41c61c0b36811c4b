/**
 * The training run's data, assembled from the channels: which files, which format, the split
 * into training and validation rows (validation channel, seeded hold-out, or k folds), the task,
 * and batch sources for any subset of the partitions.
 */
import type { ChannelConfig, InputDataConfig } from '../contract/input-data-config.ts';
import { DEFAULT_VALIDATION_FRACTION, type Hyperparameters } from '../contract/hyperparameters.ts';
import type { RuntimePaths } from '../contract/paths.ts';
import { MemoryBatchSource, StreamBatchSource, type BatchSource, type MemoryRows } from './batch-source.ts';
import { listChannelFiles, type DataFile } from './channel-files.ts';
import { DataError } from './data-error.ts';
import { partitionCount, partitionOf, type Partitioning } from './partitioning.ts';
import { beyondFloat32, labelEncoder, learnPreprocessing, type Preprocessing } from './preprocessing.ts';
import { scanTrainingData, type DataScan } from './scan.ts';
import { TableReader, type TableSchema } from './table.ts';
import { chooseTask, type TaskChoice } from './task.ts';

export const TRAIN_CHANNEL = 'train';
export const VALIDATION_CHANNEL = 'validation';

export interface DataOptions {
  /** Keep data in memory below this many bytes, stream it from the files above. */
  readonly maxInMemoryBytes: number;
  readonly log: (line: string) => void;
}

export interface PreparedData {
  readonly schema: TableSchema;
  readonly task: TaskChoice;
  readonly partitioning: Partitioning;
  /** Rows in the training channel (all partitions). */
  readonly rows: number;
  readonly scan: DataScan;
  /** Preprocessing learned from the given training partitions. */
  preprocessing(trainingPartitions: readonly number[]): Preprocessing;
  /** Batches of the training-channel rows in the given partitions. */
  source(partitions: readonly number[], pre: Preprocessing): BatchSource;
  readonly hasValidationChannel: boolean;
  /** Batches of the validation channel, or null when there is none. */
  validationChannel(pre: Preprocessing): BatchSource | null;
}

export async function prepareData(
  paths: RuntimePaths,
  hp: Hyperparameters,
  inputConfig: InputDataConfig,
  options: DataOptions,
): Promise<PreparedData> {
  const { log } = options;
  const contentTypeFor = (channel: string): string | null =>
    hp.contentType ?? (inputConfig.get(channel) as ChannelConfig | undefined)?.contentType ?? null;
  const trainFiles = await listChannelFiles(paths.channel(TRAIN_CHANNEL), TRAIN_CHANNEL, contentTypeFor(TRAIN_CHANNEL));
  if (trainFiles === null) {
    throw new DataError(`no training data: the channel folder ${paths.channel(TRAIN_CHANNEL)} does not exist`);
  }
  const validationFiles = await listChannelFiles(
    paths.channel(VALIDATION_CHANNEL),
    VALIDATION_CHANNEL,
    contentTypeFor(VALIDATION_CHANNEL),
  );
  for (const name of inputConfig.keys()) {
    if (name !== TRAIN_CHANNEL && name !== VALIDATION_CHANNEL) log(`data: channel ${name} is not used (this runtime reads train and validation)`);
  }

  const partitioning = choosePartitioning(hp, validationFiles !== null);
  const reader = new TableReader(hp.labelColumn, null, log);
  const scan = await scanTrainingData(trainFiles, reader, { partitioning, seed: hp.seed, maxInMemoryBytes: options.maxInMemoryBytes });
  const empty = scan.rowsPerPartition.findIndex((count) => count === 0);
  if (empty >= 0) {
    throw new DataError(
      `the training data has ${scan.rows} rows, too few to split ${partitioning.kind === 'folds' ? `into ${partitioning.k} folds` : `off a validation_fraction of ${hp.validationFraction ?? DEFAULT_VALIDATION_FRACTION}`}: add rows, or lower cv_folds or validation_fraction (0 turns validation off)`,
    );
  }
  log(
    `data: ${scan.rows} training rows in ${trainFiles.length} file${trainFiles.length === 1 ? '' : 's'}; ${describePartitioning(partitioning, scan)}; ${scan.cache ? 'held in memory' : 'streamed from the files each epoch (larger than the memory budget)'}`,
  );
  const task = chooseTask(scan.labels, hp.task, hp.algorithm);
  log(`data: ${task.reason}`);
  const hugeTarget = task.task === 'regression' ? scan.firstLabelBeyondFloat32 : null;
  if (hugeTarget !== null) throw DataError.at(hugeTarget.file, hugeTarget.line, beyondFloat32(hugeTarget.label));
  const schema = scan.schema;

  // The validation channel is read once, checked against the training schema and labels.
  let validationRows: MemoryRows | null = null;
  let validationStreamRows = 0;
  if (validationFiles !== null) {
    const loaded = await readEncodedRows(validationFiles, new TableReader(hp.labelColumn, schema), task, options.maxInMemoryBytes);
    validationRows = loaded.rows;
    validationStreamRows = loaded.count;
    log(`data: ${loaded.count} validation rows in ${validationFiles.length} file${validationFiles.length === 1 ? '' : 's'}`);
  }

  const shuffleBufferRows = Math.max(1024, Math.floor(options.maxInMemoryBytes / 4 / (schema.features.length * 8 + 64)));
  return {
    schema,
    task,
    partitioning,
    rows: scan.rows,
    scan,
    hasValidationChannel: validationFiles !== null,
    preprocessing: (partitions) => learnPreprocessing(scan, task.task, task.labels, partitions),
    source(partitions, pre) {
      const included = new Set(partitions);
      if (scan.cache) return MemoryBatchSource.fromCache(scan.cache, (p) => included.has(p), pre, hp.seed);
      return new StreamBatchSource({
        files: trainFiles,
        reader: () => new TableReader(hp.labelColumn, schema),
        rowsPerFile: scan.rowsPerFile,
        include: (index) => included.has(partitionOf(partitioning, hp.seed, index)),
        rows: partitions.reduce((sum, p) => sum + scan.rowsPerPartition[p]!, 0),
        pre,
        seed: hp.seed,
        shuffleBufferRows,
      });
    },
    validationChannel(pre) {
      if (validationFiles === null) return null;
      if (validationRows) return new MemoryBatchSource(validationRows, Uint32Array.from(validationRows.labels.keys()), pre, hp.seed);
      return new StreamBatchSource({
        files: validationFiles,
        reader: () => new TableReader(hp.labelColumn, schema),
        rows: validationStreamRows,
        pre,
        seed: hp.seed,
        shuffleBufferRows,
      });
    },
  };
}

export function choosePartitioning(hp: Hyperparameters, hasValidationChannel: boolean): Partitioning {
  if (hp.cvFolds > 0) {
    if (hp.validationFraction !== null) {
      throw new DataError('set cv_folds or validation_fraction, not both: with cv_folds every fold validates in turn');
    }
    return { kind: 'folds', k: hp.cvFolds };
  }
  if (hasValidationChannel) {
    if (hp.validationFraction !== null) {
      throw new DataError(
        'validation_fraction splits the train channel when there is no validation channel, but a validation channel was given; remove one of them',
      );
    }
    return { kind: 'all' };
  }
  const fraction = hp.validationFraction ?? DEFAULT_VALIDATION_FRACTION;
  return fraction > 0 ? { kind: 'holdout', fraction } : { kind: 'all' };
}

function describePartitioning(partitioning: Partitioning, scan: DataScan): string {
  switch (partitioning.kind) {
    case 'all':
      return 'all rows train';
    case 'holdout':
      return `${scan.rowsPerPartition[1]} held out for validation (validation_fraction ${partitioning.fraction}, by seed)`;
    case 'folds':
      return `${partitionCount(partitioning)} folds of ${scan.rowsPerPartition.join(', ')} rows`;
  }
}

/** Reads a channel with labels encoded; keeps the rows only if they fit in memory. */
async function readEncodedRows(
  files: readonly DataFile[],
  reader: TableReader,
  task: TaskChoice,
  maxInMemoryBytes: number,
): Promise<{ rows: MemoryRows | null; count: number }> {
  const encode = labelEncoder({ task: task.task, labels: task.labels });
  let features: number[] | null = [];
  let labels: number[] | null = [];
  let count = 0;
  for await (const row of reader.rows(files)) {
    const label = encode(row.label, row.file, row.line);
    count++;
    if (features !== null && count * (row.features.length * 8 + 16) <= maxInMemoryBytes) {
      for (const value of row.features) features.push(value);
      labels!.push(label);
    } else {
      features = labels = null;
    }
  }
  if (count === 0) throw new DataError(`the validation data (${files.map((f) => f.name).join(', ')}) has no rows`);
  return { rows: features === null ? null : { features: Float64Array.from(features), labels: Float64Array.from(labels!) }, count };
}
