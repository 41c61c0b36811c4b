/**
 * Fits one model: epochs of mini-batch steps, a validation pass after each epoch, early
 * stopping on the validation loss with the best parameters kept, checkpoints every N steps and
 * at each epoch's end, and a clean stop (after a checkpoint) when asked to.
 *
 * The fit's position lives in local variables of one loop, and the fit reports by yielding
 * events: a batch done, an epoch evaluated, a checkpoint due, done. The caller acts on each
 * before the loop goes on, so a checkpoint is written while the parameters are those of its
 * position.
 */
import type { Task } from '../artifact/model-description.ts';
import type { Batch } from '../data/batch.ts';
import type { Evaluation, TrainingState } from '../models/trainable-model.ts';
import type { EpochMetrics, FitPosition } from './checkpoint.ts';
import type { BatchEvent, EpochEvent, FitContext } from './training-events.ts';

/** What the loop needs of a model: a step, an evaluation, and its state for checkpoints (TrainableModel is one). */
export interface FitModel<B> {
  /** Optimizer steps taken so far. */
  readonly step: number;
  trainStep(batch: B): Promise<number>;
  evaluate(batch: B): Promise<Evaluation>;
  getState(): TrainingState;
  setState(state: TrainingState): void;
}

/** What the loop needs of the data: seeded epochs of batches, and every row once (BatchSource is one). */
export interface FitSource<B> {
  readonly rows: number;
  /** One epoch of batches in the seeded order for `epochKey`; the first `skip` batches are left out (resume). */
  epoch(epochKey: number, batchSize: number, skip?: number): AsyncGenerator<B>;
  inOrder(batchSize: number): AsyncGenerator<B>;
}

/** A batch's row count. */
interface Sized {
  readonly size: number;
}

/** The loop's model over the tabular batch type (what the CNN runs hand it). */
export type FittableModel = FitModel<Batch>;

export interface FitSpec<B extends Sized = Batch> {
  readonly model: FitModel<B>;
  readonly task: Task;
  readonly train: FitSource<B>;
  readonly validation: FitSource<B> | null;
  readonly epochs: number;
  readonly batchSize: number;
  /** Epochs without improvement before stopping; 0 = never. */
  readonly patience: number;
  /**
   * What counts as improvement. validation-loss: a lower validation loss, and the best epoch's
   * parameters are kept. train-loss: a training loss lower than the best so far by more than
   * `tolerance` (scikit-learn's MLP rule; a tiny hold-out's noise cannot stop it), and the last
   * epoch's parameters are kept.
   * @default 'validation-loss'
   */
  readonly stopOn?: 'validation-loss' | 'train-loss';
  /** train-loss: the least improvement that resets the patience count. @default 0 */
  readonly tolerance?: number;
  /** Keeps each fold's shuffles apart: epoch e shuffles with key `epochKeyBase + e`. */
  readonly epochKeyBase: number;
  /** Regression: the target's standard deviation, to report RMSE in the target's own units. */
  readonly targetStd: number;
  readonly checkpointEverySteps: number;
  /**
   * Stop once the model has taken this many optimizer steps (the epoch under way ends there and
   * is evaluated); 0 = no limit. Counted from the model's step, so a resumed fit stops where an
   * uninterrupted one would.
   * @default 0
   */
  readonly maxSteps?: number;
  /**
   * Rows per evaluation run. A transformer's attention over 1024 rows of long texts would not fit
   * in memory, so the text models pass less.
   * @default 1024
   */
  readonly evaluationBatchSize?: number;
  /** Where a resumed fit starts, with the parameters already restored into the model. */
  readonly resume: { readonly position: FitPosition; readonly best: TrainingState | null } | null;
  /** Stops the fit after the next checkpoint (SIGTERM, or stdout closed). */
  readonly signal?: AbortSignal;
}

/** The position to persist, with the best parameters so far; the model holds the current ones. */
export interface CheckpointDue {
  readonly kind: 'checkpoint';
  readonly position: FitPosition;
  readonly best: TrainingState | null;
  /** The fit throws TrainingStopped once this checkpoint is handled. */
  readonly stopping: boolean;
}

/** The last event: the model now holds the kept parameters (the best epoch's, with validation). */
export interface FitDone {
  readonly kind: 'done';
  readonly history: readonly EpochMetrics[];
  /** 1-based epoch whose parameters the model holds. */
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
}

export type FitEvent = Omit<BatchEvent, keyof FitContext> | Omit<EpochEvent, keyof FitContext> | CheckpointDue | FitDone;

/** Thrown after the checkpoint is written when a stop was requested. */
export class TrainingStopped extends Error {
  constructor() {
    super('training stopped on request (SIGTERM, or stdout closed) after writing a checkpoint');
    this.name = 'TrainingStopped';
  }
}

/** Rows per evaluation run by default: large, since evaluation keeps no gradients. */
const EVALUATION_BATCH = 1024;

const START: FitPosition = { epoch: 0, batch: 0, lossSum: 0, lossRows: 0, bestLoss: null, bestEpoch: null, epochsSinceBest: 0, history: [] };

export async function* fit<B extends Sized>(spec: FitSpec<B>): AsyncGenerator<FitEvent, void, undefined> {
  const { model } = spec;
  const maxSteps = spec.maxSteps ?? 0;
  const stopOnTrainLoss = spec.stopOn === 'train-loss';
  const tolerance = spec.tolerance ?? 0;
  const stepsLeft = () => maxSteps === 0 || model.step < maxSteps;
  // Where the fit is; a resumed fit starts at its checkpoint's position.
  const start = spec.resume?.position ?? START;
  let epochsDone = start.epoch;
  let batch = start.batch; // batches done in the epoch under way
  let lossSum = start.lossSum; // sum of batch loss x batch rows in the epoch under way
  let lossRows = start.lossRows;
  let bestLoss = start.bestLoss;
  let bestEpoch = start.bestEpoch;
  let epochsSinceBest = start.epochsSinceBest;
  const history = [...start.history];
  let best = spec.resume?.best ?? null;
  const checkpoint = (stopping: boolean): CheckpointDue => ({
    kind: 'checkpoint',
    position: { epoch: epochsDone, batch, lossSum, lossRows, bestLoss, bestEpoch, epochsSinceBest, history: [...history] },
    best,
    stopping,
  });
  const stopRequested = () => spec.signal?.aborted === true;

  // A fit resumed from its last checkpoint may already be finished (all epochs, or patience run out).
  while (epochsDone < spec.epochs && !(spec.patience > 0 && epochsSinceBest >= spec.patience) && stepsLeft()) {
    const epoch = epochsDone + 1;
    for await (const b of spec.train.epoch(spec.epochKeyBase + epoch, spec.batchSize, batch)) {
      const loss = await model.trainStep(b);
      if (!Number.isFinite(loss)) {
        throw new Error(
          `the training loss became ${loss} in epoch ${epoch}, batch ${batch + 1}: the optimisation diverged; lower learning_rate (now too large for this data) or use optimizer=adam`,
        );
      }
      lossSum += loss * b.size;
      lossRows += b.size;
      batch++;
      yield { kind: 'batch', epoch, batch, trainLoss: lossSum / lossRows };
      const stopping = stopRequested();
      if (stopping || (spec.checkpointEverySteps > 0 && model.step % spec.checkpointEverySteps === 0)) {
        yield checkpoint(stopping);
        if (stopping) throw new TrainingStopped();
      }
      if (!stepsLeft()) break; // max_steps: this epoch ends here and is evaluated as any other
    }

    const metrics = { epoch, train_loss: lossSum / lossRows, ...(await evaluate(spec, spec.validation)) };
    const batches = batch;
    epochsDone = epoch;
    batch = 0;
    lossSum = 0;
    lossRows = 0;
    const validationLoss = metrics.validation_loss;
    if (stopOnTrainLoss) {
      // The final parameters are kept, so `best` stays null; bestLoss tracks the training loss.
      if (bestLoss === null || metrics.train_loss < bestLoss - tolerance) epochsSinceBest = 0;
      else epochsSinceBest++;
      if (bestLoss === null || metrics.train_loss < bestLoss) bestLoss = metrics.train_loss;
      bestEpoch = epoch;
    } else if (validationLoss !== undefined) {
      if (bestLoss === null || validationLoss < bestLoss) {
        bestLoss = validationLoss;
        bestEpoch = epoch;
        epochsSinceBest = 0;
        best = model.getState();
      } else {
        epochsSinceBest++;
      }
    }
    history.push(metrics);
    yield { kind: 'epoch', epoch, batches, metrics };
    const stopping = stopRequested();
    yield checkpoint(stopping);
    if (stopping) throw new TrainingStopped();
  }

  if (best !== null) model.setState(best);
  yield { kind: 'done', history, bestEpoch: bestEpoch ?? epochsDone, stoppedEarly: epochsDone < spec.epochs && stepsLeft() };
}

/** Mean loss and accuracy (classification) or RMSE in target units (regression) over a source. */
export async function evaluate<B extends Sized>(
  spec: Pick<FitSpec<B>, 'task' | 'targetStd' | 'evaluationBatchSize'> & { readonly model: Pick<FitModel<B>, 'evaluate'> },
  source: FitSource<B> | null,
  prefix: 'validation' | 'train' = 'validation',
): Promise<EpochMetrics> {
  if (source === null) return {};
  let rows = 0;
  let lossSum = 0;
  let correct = 0;
  let squaredError = 0;
  for await (const batch of source.inOrder(spec.evaluationBatchSize ?? EVALUATION_BATCH)) {
    const result = await spec.model.evaluate(batch);
    rows += batch.size;
    lossSum += result.loss * batch.size;
    correct += result.correct ?? 0;
    squaredError += result.sumSquaredError ?? 0;
  }
  const metrics: EpochMetrics = { [`${prefix}_loss`]: lossSum / rows };
  if (spec.task === 'regression') {
    if (prefix === 'validation') metrics.validation_rmse = Math.sqrt(squaredError / rows) * spec.targetStd;
  } else {
    metrics[`${prefix}_accuracy`] = correct / rows;
  }
  return metrics;
}
