/**
 * A classifier's confusion matrix and per-class precision and recall, from the classes it
 * predicted for examples whose classes are known (the validation data).
 */

export interface ClassReport {
  /** Class names, index = class id. */
  readonly labels: readonly string[];
  /** matrix[actual][predicted]: how many examples of class `actual` were predicted as `predicted`. */
  readonly matrix: readonly (readonly number[])[];
  /** Of the examples predicted as each class, the share that were; null when none was predicted as it. */
  readonly precision: readonly (number | null)[];
  /** Of each class's examples, the share predicted as it; null when the data has none. */
  readonly recall: readonly (number | null)[];
  /** Examples of each class. */
  readonly support: readonly number[];
}

export function classReport(labels: readonly string[], actual: ArrayLike<number>, predicted: ArrayLike<number>): ClassReport {
  const k = labels.length;
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < actual.length; i++) matrix[actual[i]!]![predicted[i]!]! += 1;
  const support = matrix.map((row) => row.reduce((a, b) => a + b, 0));
  const predictedCounts = labels.map((_, j) => matrix.reduce((sum, row) => sum + row[j]!, 0));
  return {
    labels,
    matrix,
    precision: labels.map((_, j) => (predictedCounts[j]! === 0 ? null : matrix[j]![j]! / predictedCounts[j]!)),
    recall: labels.map((_, j) => (support[j]! === 0 ? null : matrix[j]![j]! / support[j]!)),
    support,
  };
}

/** `class cat: precision 0.950, recall 0.900 (20 examples)` per class, for the training report. */
export function classReportLines(report: ClassReport): string[] {
  const share = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(3));
  return report.labels.map((label, j) => `class ${label}: precision ${share(report.precision[j]!)}, recall ${share(report.recall[j]!)} (${report.support[j]} examples)`);
}
