/**
 * What is learned from the training rows and applied to every row before the model sees it:
 * feature standardisation, the label's encoding (class ids) and, for regression, target
 * standardisation. Saved in model.json and baked into model.onnx by the core.
 */
import type { InferencePreprocessing, Task } from '../artifact/model-description.ts';
import type { Batch } from './batch.ts';
import { DataError } from './data-error.ts';
import { FLOAT32_RANGE, fitsFloat32 } from '../numbers.ts';
import type { DataScan } from './scan.ts';
import { ColumnStatistics } from './statistics.ts';

export interface Preprocessing extends InferencePreprocessing {
  readonly task: Task;
  /** Class names in id order; null for regression. */
  readonly labels: readonly string[] | null;
}

/** Learns the preprocessing from the given partitions of the scan (the rows that train). */
export function learnPreprocessing(
  scan: DataScan,
  task: Task,
  labels: readonly string[] | null,
  trainingPartitions: readonly number[],
): Preprocessing {
  const width = scan.schema.features.length;
  const features = ColumnStatistics.combine(width, trainingPartitions.map((p) => scan.featureStats[p]!));
  let targetMean: number[] | null = null;
  let targetStd: number[] | null = null;
  if (task === 'regression') {
    if (scan.targetStats === null) throw new Error('regression needs numeric labels; the task check should have caught this');
    const target = ColumnStatistics.combine(1, trainingPartitions.map((p) => scan.targetStats![p]!));
    targetMean = target.means();
    targetStd = target.std();
  }
  return { task, labels, featureMean: features.means(), featureStd: features.std(), targetMean, targetStd };
}

/** The model answers regression in float32 target units: a target beyond it would come back as Infinity. */
export function beyondFloat32(label: string): string {
  return `the label is ${JSON.stringify(label)}; expected a number within float32 range (${FLOAT32_RANGE}) for regression`;
}

/** Label text -> the number the model trains on: class id, or the raw target. */
export type LabelEncoder = (label: string, file: string, line: number) => number;

export function labelEncoder(pre: Pick<Preprocessing, 'task' | 'labels'>): LabelEncoder {
  if (pre.task === 'regression') {
    return (label, file, line) => {
      const value = Number(label);
      if (!Number.isFinite(value)) throw DataError.at(file, line, `the label is ${JSON.stringify(label)}; expected a number for regression`);
      if (!fitsFloat32(value)) throw DataError.at(file, line, beyondFloat32(label));
      return value;
    };
  }
  const ids = new Map(pre.labels!.map((label, id) => [label, id]));
  return (label, file, line) => {
    const id = ids.get(label);
    if (id === undefined) {
      throw DataError.at(file, line, `the label ${JSON.stringify(label)} does not occur in the training data; expected one of ${pre.labels!.join(', ')}`);
    }
    return id;
  };
}

/**
 * Fills one batch from raw rows: x (B, F) standardised; y (B, 1) standardised target for
 * regression, or (B) class ids (0/1 for binary).
 */
export class BatchBuilder {
  private readonly width: number;
  private readonly inverseStd: Float64Array;

  constructor(private readonly pre: Preprocessing) {
    this.width = pre.featureMean.length;
    this.inverseStd = Float64Array.from(pre.featureStd, (std) => 1 / std);
  }

  /** `features(i)` returns row i's raw features; `label(i)` its encoded label. */
  build(size: number, features: (i: number) => ArrayLike<number>, label: (i: number) => number): Batch {
    const { width, inverseStd, pre } = this;
    const x = new Float32Array(size * width);
    const y = new Float32Array(size);
    const targetMean = pre.targetMean?.[0] ?? 0;
    const targetScale = pre.targetStd ? 1 / pre.targetStd[0]! : 1;
    for (let i = 0; i < size; i++) {
      const row = features(i);
      const offset = i * width;
      for (let j = 0; j < width; j++) x[offset + j] = (row[j]! - pre.featureMean[j]!) * inverseStd[j]!;
      const value = label(i);
      y[i] = pre.task === 'regression' ? (value - targetMean) * targetScale : value;
    }
    return { size, x, y };
  }
}
