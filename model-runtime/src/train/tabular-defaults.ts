/**
 * How a tabular run trains when the user leaves the training keys unset: a rule on the
 * training rows n, so small data sets get scikit-learn's quality and large ones stay fast. A key
 * the user gives always wins over the rule (for linear models any optimizer key turns the whole
 * rule off: they asked for mini-batch training).
 *
 * | algorithm                    | rows n     | rule                                                                                     |
 * |------------------------------|------------|------------------------------------------------------------------------------------------|
 * | linear-/logistic-regression  | <= 100000  | full-batch L-BFGS to convergence (max |grad| <= 1e-5, at most 500 iterations), as          |
 * |                              |            | scikit-learn: logistic with L2 1/n on the weights (LogisticRegression's C=1), linear none  |
 * | linear-/logistic-regression  | > 100000   | mini-batch adam lr 0.01, batch 32, 100 epochs, patience 10 on the validation loss          |
 * | mlp, classification          | <= 5000    | hidden 100,100, adam lr 0.001, batch min(200, n), up to 200 epochs, stop once the training |
 * |                              |            | loss has not improved by 1e-4 for 10 epochs (MLPClassifier's rule and width: it does not   |
 * |                              |            | stop on a small hold-out's noise), last epoch kept                                         |
 * | mlp, classification          | > 5000     | hidden 64,64, adam lr 0.001, batch 32, 100 epochs, patience 10 on the validation loss       |
 * | mlp, regression              | any        | the same as above 5000: on small noisy targets the hold-out's early stopping is what keeps |
 * |                              |            | the mlp from overfitting (training to the loss plateau cost 10-80% RMSE on diabetes and    |
 * |                              |            | linnerud)                                                                                  |
 *
 * Validation, when there is no validation channel, no cv_folds and no validation_fraction: at
 * n <= 5000 the linear models and the mlp classifier fit once on 90% to measure the validation
 * metrics on the other 10% (and, for the mlp, how many epochs to train), then refit on all n
 * rows, so small data loses no rows to the hold-out and the run still prints validation_* (the
 * cloud pipeline's evaluation gate needs one). Otherwise the 10% hold-out stays out of training.
 */
import type { TabularAlgorithm, Task } from '../artifact/model-description.ts';
import type { Hyperparameters } from '../contract/hyperparameters.ts';

/** Training rows up to which the small-data rules apply. */
export const SMALL_DATA_ROWS = 5000;
/** Training rows up to which linear models are solved full-batch. */
export const FULL_BATCH_ROWS = 100_000;

/** Keys that ask for mini-batch training of a linear model (and that an L-BFGS run's model.json leaves out: nothing used them). */
export const MINI_BATCH_KEYS: readonly string[] = [
  'optimizer', 'learning_rate', 'batch_size', 'epochs', 'momentum', 'beta1', 'beta2', 'epsilon', 'weight_decay',
  'grad_clip', 'lr_schedule', 'warmup_steps', 'early_stopping_patience', 'checkpoint_every_steps',
];

/** scikit-learn MLPClassifier's defaults, for the small-data mlp. */
const SMALL_MLP = { batchSize: 200, epochs: 200, tolerance: 1e-4, epochsWithoutImprovement: 10, hiddenSizes: [100, 100] } as const;

export type TabularPlan =
  | {
      readonly solver: 'lbfgs';
      /**
       * L2 weight on the weights in the mean-loss objective, times the rows of the fit: each fit
       * (fold, hold-out, all rows) uses this / its own rows, as scikit-learn's C does.
       */
      readonly l2TimesRows: number;
      readonly maxIterations: number;
      readonly gradientTolerance: number;
      readonly refitOnAllRows: boolean;
      /** The log line that names the rule. */
      readonly rule: string;
    }
  | {
      readonly solver: 'minibatch';
      readonly epochs: number;
      readonly batchSize: number;
      /** mlp: the hidden layer widths (the linear models have none). */
      readonly hiddenSizes: readonly number[];
      readonly patience: number;
      /** What early stopping watches: the validation loss (best epoch kept), or the training loss (last epoch kept). */
      readonly stopOn: 'validation-loss' | 'train-loss';
      /** train-loss: the improvement that counts. */
      readonly tolerance: number;
      readonly refitOnAllRows: boolean;
      readonly rule: string;
    };

export interface PlanInput {
  readonly hp: Hyperparameters & { readonly algorithm: TabularAlgorithm };
  /** Hyperparameter names the user gave (hyperparameters.json's keys). */
  readonly given: ReadonlySet<string>;
  /** Rows of the training channel. */
  readonly rows: number;
  readonly task: Task;
  /** Whether the validation metrics come from a seeded hold-out of the training rows the rule may refit on. */
  readonly defaultHoldout: boolean;
}

export function chooseTabularPlan({ hp, given, rows, task, defaultHoldout }: PlanInput): TabularPlan {
  const small = rows <= SMALL_DATA_ROWS;
  const refitOnAllRows = small && defaultHoldout;
  const validation = refitOnAllRows
    ? `fit on 90% to measure validation_* on the 10% hold-out, then refit on all ${rows} rows (<= ${SMALL_DATA_ROWS} rows)`
    : defaultHoldout ? `the 10% hold-out validates (> ${SMALL_DATA_ROWS} rows)` : 'validation as configured';

  if (hp.algorithm !== 'mlp') {
    const explicit = MINI_BATCH_KEYS.filter((key) => given.has(key));
    if (explicit.length === 0 && rows <= FULL_BATCH_ROWS) {
      const l2TimesRows = hp.algorithm === 'logistic-regression' ? 1 : 0;
      const penalty = l2TimesRows > 0 ? "L2 1/n on the weights, n the rows of each fit (scikit-learn's C=1)" : 'no penalty (least squares)';
      return {
        solver: 'lbfgs',
        l2TimesRows,
        maxIterations: 500,
        gradientTolerance: 1e-5,
        refitOnAllRows,
        rule: `defaults for ${rows} rows: full-batch L-BFGS to convergence, ${penalty}; ${validation}`,
      };
    }
    const why = explicit.length > 0 ? `${explicit.join(', ')} given` : `> ${FULL_BATCH_ROWS} rows`;
    return {
      solver: 'minibatch',
      epochs: hp.epochs,
      batchSize: hp.batchSize,
      hiddenSizes: hp.hiddenSizes,
      patience: hp.earlyStoppingPatience,
      stopOn: 'validation-loss',
      tolerance: 0,
      refitOnAllRows: false,
      rule: `defaults for ${rows} rows: mini-batch ${hp.optimizer} (${why}), batch ${hp.batchSize}, up to ${hp.epochs} epochs, patience ${hp.earlyStoppingPatience} on the validation loss`,
    };
  }

  const smallClassification = small && task !== 'regression';
  const batchSize = given.has('batch_size') || !smallClassification ? hp.batchSize : Math.min(SMALL_MLP.batchSize, rows);
  const epochs = given.has('epochs') || !smallClassification ? hp.epochs : SMALL_MLP.epochs;
  const hiddenSizes = given.has('hidden_sizes') || !smallClassification ? hp.hiddenSizes : SMALL_MLP.hiddenSizes;
  const trainLoss = smallClassification && !given.has('early_stopping_patience');
  const patience = trainLoss ? SMALL_MLP.epochsWithoutImprovement : hp.earlyStoppingPatience;
  const stopping = trainLoss
    ? `stop once the training loss has not improved by ${SMALL_MLP.tolerance} for ${patience} epochs`
    : `patience ${patience} on the validation loss`;
  return {
    solver: 'minibatch',
    epochs,
    batchSize,
    hiddenSizes,
    patience,
    stopOn: trainLoss ? 'train-loss' : 'validation-loss',
    tolerance: trainLoss ? SMALL_MLP.tolerance : 0,
    // Regression keeps the hold-out's early stopping, the mlp's regulariser on small noisy data: nothing to refit.
    refitOnAllRows: smallClassification && refitOnAllRows,
    rule: `defaults for ${rows} rows${task === 'regression' ? ' (regression)' : ''}: hidden ${hiddenSizes.join(',')}, ${hp.optimizer} lr ${hp.learningRate}, batch ${batchSize}, up to ${epochs} epochs, ${stopping}; ${smallClassification ? validation : defaultHoldout ? 'the 10% hold-out validates and stops' : 'validation as configured'}`,
  };
}
