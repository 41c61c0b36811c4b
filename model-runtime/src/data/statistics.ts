/**
 * Running mean and variance per column (Welford), mergeable (Chan et al.) so statistics kept per
 * fold combine into the statistics of any set of folds without another pass over the data.
 */
export class ColumnStatistics {
  count = 0;
  readonly mean: Float64Array;
  /** Sum of squared deviations from the mean. */
  readonly m2: Float64Array;

  constructor(readonly width: number) {
    this.mean = new Float64Array(width);
    this.m2 = new Float64Array(width);
  }

  add(values: ArrayLike<number>): void {
    this.count++;
    for (let i = 0; i < this.width; i++) {
      const delta = values[i]! - this.mean[i]!;
      this.mean[i]! += delta / this.count;
      this.m2[i]! += delta * (values[i]! - this.mean[i]!);
    }
  }

  /** Adds another set's statistics into this one. */
  merge(other: ColumnStatistics): void {
    const total = this.count + other.count;
    if (other.count === 0) return;
    for (let i = 0; i < this.width; i++) {
      const delta = other.mean[i]! - this.mean[i]!;
      this.mean[i]! += (delta * other.count) / total;
      this.m2[i]! += other.m2[i]! + (delta * delta * this.count * other.count) / total;
    }
    this.count = total;
  }

  static combine(width: number, parts: Iterable<ColumnStatistics>): ColumnStatistics {
    const all = new ColumnStatistics(width);
    for (const part of parts) all.merge(part);
    return all;
  }

  /**
   * Population standard deviation (as scikit-learn's StandardScaler). A constant column gets 1,
   * so standardising leaves it at 0 instead of dividing by zero.
   */
  std(): number[] {
    return Array.from(this.m2, (m2) => {
      const std = this.count > 0 ? Math.sqrt(m2 / this.count) : 0;
      return std > 1e-12 ? std : 1;
    });
  }

  means(): number[] {
    return Array.from(this.mean);
  }
}
