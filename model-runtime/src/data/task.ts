/**
 * Regression or classification, and the class names, from the labels seen in training.
 *
 * When `task` is not set: a label that is not a number means classification. Labels that are
 * all integers with at most MAX_INFERRED_CLASSES distinct values (0/1, 0..9) also mean
 * classification: such columns are nearly always class ids, and a regression on them would
 * predict 0.37 for a yes/no question. Everything else is regression. The algorithm settles it
 * first when it can (linear-regression is regression, logistic-regression classification), and
 * the choice is logged with the way to override it.
 */
import type { Algorithm, Task } from '../artifact/model-description.ts';
import { DataError } from './data-error.ts';

export const MAX_INFERRED_CLASSES = 10;
/** More distinct labels than this cannot be a classification this runtime fits. */
export const MAX_CLASSES = 1000;

/** What the scan learned about the labels. */
export interface LabelSummary {
  /** Distinct labels with counts, up to MAX_CLASSES + 1 entries. */
  readonly counts: ReadonlyMap<string, number>;
  /** More distinct labels than `counts` holds. */
  readonly overflow: boolean;
  readonly allNumeric: boolean;
  readonly allInteger: boolean;
}

export interface TaskChoice {
  readonly task: Task;
  /** Class names in class-id order; null for regression. */
  readonly labels: readonly string[] | null;
  /** One line for the log saying what was chosen and why. */
  readonly reason: string;
}

export function chooseTask(summary: LabelSummary, requested: Task | null, algorithm: Algorithm): TaskChoice {
  const distinct = summary.overflow ? `more than ${MAX_CLASSES}` : String(summary.counts.size);
  let task: Task;
  let reason: string;
  if (requested !== null) {
    task = requested;
    reason = `task=${task} as set`;
  } else if (algorithm === 'linear-regression') {
    task = 'regression';
    reason = 'task=regression because algorithm=linear-regression';
  } else if (!summary.allNumeric) {
    task = summary.counts.size === 2 ? 'binary' : 'multiclass';
    reason = `task=${task} inferred: labels are not all numbers (${distinct} distinct); set task to override`;
  } else if (algorithm === 'logistic-regression' || (summary.allInteger && !summary.overflow && summary.counts.size <= MAX_INFERRED_CLASSES)) {
    task = summary.counts.size === 2 ? 'binary' : 'multiclass';
    reason =
      algorithm === 'logistic-regression'
        ? `task=${task} because algorithm=logistic-regression (${distinct} distinct labels)`
        : `task=${task} inferred: labels are integers with ${distinct} distinct values (at most ${MAX_INFERRED_CLASSES} means classes); set task=regression to fit them as numbers`;
  } else {
    task = 'regression';
    reason = `task=regression inferred: labels are numbers with ${distinct} distinct values; set task=multiclass to treat them as classes`;
  }

  if (task === 'regression') {
    if (!summary.allNumeric) {
      const example = [...summary.counts.keys()].find((label) => !Number.isFinite(Number(label)));
      const instead = requested === 'regression' ? 'set task=multiclass or leave task unset' : 'use algorithm=logistic-regression or mlp';
      throw new DataError(`${reason}, but the label ${JSON.stringify(example)} is not a number; regression needs numeric labels; to classify them, ${instead}`);
    }
    return { task, labels: null, reason };
  }
  if (summary.overflow) {
    throw new DataError(`${reason}, but the labels have more than ${MAX_CLASSES} distinct values; classification supports at most ${MAX_CLASSES} classes`);
  }
  const labels = [...summary.counts.keys()].sort(summary.allNumeric ? (a, b) => Number(a) - Number(b) : undefined);
  if (labels.length < 2) throw oneClassError(labels, summary.allNumeric && algorithm !== 'logistic-regression');
  if (task === 'binary' && labels.length !== 2) {
    throw new DataError(`task=binary needs exactly 2 distinct labels, but the training data has ${labels.length} (${preview(labels)}); use task=multiclass`);
  }
  return { task, labels, reason: `${reason}; classes: ${preview(labels)}` };
}

/** What is wrong first, then what to do: more classes, or (numbers only) a regression instead. */
function oneClassError(labels: readonly string[], regressionPossible: boolean): DataError {
  const seen = labels.length === 0 ? 'the training data has no labels' : `every training label is ${JSON.stringify(labels[0])}`;
  const instead = regressionPossible ? ', or set task=regression to predict the label as a number' : '';
  return new DataError(`classification needs at least 2 classes, but ${seen}; add rows of another class${instead}`);
}

function preview(labels: readonly string[]): string {
  return labels.length <= 10 ? labels.join(', ') : `${labels.slice(0, 10).join(', ')}, ... (${labels.length})`;
}
