/**
 * What a training run reports, as one typed stream: `runTraining(paths, { onEvent })`. The
 * metric lines on stdout (training-log.ts), the progress bar (progress-bar.ts) and the CLI all
 * subscribe to it, so none of them reads another's output: a metric line's text can change
 * without breaking the bar.
 *
 *   note        a line for people: the data summary, a resumed checkpoint, a fold's result
 *   batch       after each optimizer step
 *   epoch       after each epoch is evaluated
 *   step        after each optimizer step of a run counted in steps (the language model), with
 *               the interval's metrics every eval_interval steps
 *   evaluation  what the run keeps: the folds' mean and spread, then the saved parameters' metrics
 *   done        the model is saved
 */
import type { ModelDescription } from '../artifact/model-description.ts';
import type { Manifest } from '../artifact/digest.ts';
import type { EpochMetrics } from './checkpoint.ts';
import type { ClassReport } from './confusion.ts';

/** Which fit an event belongs to: a cross-validation fold, or the final fit whose model is saved. */
export interface FitContext {
  readonly phase: 'cv' | 'final';
  /** 0-based fold in the cv phase; null in the final fit. */
  readonly fold: number | null;
  /** Epochs this fit runs at most. */
  readonly epochs: number;
}

export interface NoteEvent {
  readonly kind: 'note';
  readonly text: string;
}

export interface BatchEvent extends FitContext {
  readonly kind: 'batch';
  /** 1-based epoch under way. */
  readonly epoch: number;
  /** Batches done in this epoch, this one included. */
  readonly batch: number;
  /** The epoch's mean training loss so far. */
  readonly trainLoss: number;
}

export interface EpochEvent extends FitContext {
  readonly kind: 'epoch';
  /** 1-based epoch just evaluated. */
  readonly epoch: number;
  /** Batches in the epoch. */
  readonly batches: number;
  /** The epoch's train_loss (its mean over all batches) and, with validation rows, validation metrics. */
  readonly metrics: EpochMetrics & { readonly epoch: number; readonly train_loss: number };
}

export interface StepEvent {
  readonly kind: 'step';
  /** Optimizer steps done, this one included. */
  readonly step: number;
  /** Steps the run takes in all. */
  readonly steps: number;
  /** Mean training loss since the last evaluation. */
  readonly trainLoss: number;
  /** Training tokens per second since the last evaluation. */
  readonly tokensPerSecond: number;
  /** Every eval_interval steps (not at the last step: the evaluation event has those): the metric line. */
  readonly metrics: EpochMetrics | null;
}

export interface EvaluationEvent {
  readonly kind: 'evaluation';
  /**
   * cv: the folds' cv_*_mean and cv_*_std. final: the saved parameters on the training rows
   * (without dropout) and the validation rows, under the epoch they come from: the metrics
   * tuning jobs read, as the last metric line.
   */
  readonly of: 'cv' | 'final';
  readonly metrics: EpochMetrics;
}

export interface DoneEvent {
  readonly kind: 'done';
  readonly result: TrainingResult;
}

export type TrainingEvent = NoteEvent | BatchEvent | EpochEvent | StepEvent | EvaluationEvent | DoneEvent;

export interface TrainingResult {
  readonly modelDir: string;
  readonly description: ModelDescription;
  readonly manifest: Manifest;
  /** The final fit's epochs. */
  readonly history: readonly EpochMetrics[];
  /** Classifiers with validation data: the saved model's confusion matrix and per-class precision and recall on it. */
  readonly validationReport?: ClassReport;
}
