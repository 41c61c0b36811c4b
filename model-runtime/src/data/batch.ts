/**
 * One mini-batch, row-major, as the data pipeline hands it to a model. Features are already
 * standardised (preprocessing.ts).
 * y: regression (B, T) standardised targets; binary (B) 0 or 1; multiclass (B) class ids.
 */
export interface Batch {
  readonly size: number;
  readonly x: Float32Array;
  readonly y: Float32Array;
}
