/**
 * Which rows of the training channel train and which validate, decided per row from the seed
 * and the row's position alone, so the split streams (no index of the data is kept) and is the
 * same in every epoch, every pass and every resumed run.
 */
import { RANDOM_STREAM, uniformAt } from './random.ts';

export type Partitioning =
  /** Every row trains (the validation data, if any, comes from the validation channel). */
  | { readonly kind: 'all' }
  /** A seeded share of the rows validates: partition 1; the rest trains: partition 0. */
  | { readonly kind: 'holdout'; readonly fraction: number }
  /** k-fold cross-validation: partition = fold number 0..k-1. */
  | { readonly kind: 'folds'; readonly k: number };

export function partitionCount(partitioning: Partitioning): number {
  return partitioning.kind === 'all' ? 1 : partitioning.kind === 'holdout' ? 2 : partitioning.k;
}

export function partitionOf(partitioning: Partitioning, seed: number, rowIndex: number): number {
  switch (partitioning.kind) {
    case 'all':
      return 0;
    case 'holdout':
      return uniformAt(seed, RANDOM_STREAM.split, rowIndex) < partitioning.fraction ? 1 : 0;
    case 'folds':
      return Math.floor(uniformAt(seed, RANDOM_STREAM.split, rowIndex) * partitioning.k);
  }
}

/** The holdout partition that validates. */
export const HOLDOUT_VALIDATION = 1;
