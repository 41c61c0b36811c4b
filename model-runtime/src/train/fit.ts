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
import type { BatchSource } from '../data/batch-source.ts';
import type { TrainableModel, TrainingState } from '../models/trainable-model.ts';
import type { EpochMetrics, FitPosition } from './checkpoint.ts';
import type { BatchEvent, EpochEvent, FitContext } from './training-events.ts';

/** What fitting needs of a model: any family's, not only the tabular TrainableModel. */
export type FittableModel = Pick<TrainableModel, 'step' | 'trainStep' | 'evaluate' | 'getState' | 'setState'>;

export interface FitSpec {
  readonly model: FittableModel;
  readonly task: Task;
  readonly train: BatchSource;
  readonly validation: BatchSource | null;
  readonly epochs: number;
  readonly batchSize: number;
  /** Epochs without improvement before stopping; 0 = never. */
  readonly patience: number;
  /** Keeps each fold's shuffles apart: epoch e shuffles with key `epochKeyBase + e`. */
  readonly epochKeyBase: number;
  /** Regression: the target's standard deviation, to report RMSE in the target's own units. */
  readonly targetStd: number;
  readonly checkpointEverySteps: number;
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

/** Rows per evaluation run: large, since evaluation keeps no gradients. */
const EVALUATION_BATCH = 1024;

const START: FitPosition = { epoch: 0, batch: 0, lossSum: 0, lossRows: 0, bestLoss: null, bestEpoch: null, epochsSinceBest: 0, history: [] };

export async function* fit(spec: FitSpec): AsyncGenerator<FitEvent, void, undefined> {
  const { model } = spec;
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
  while (epochsDone < spec.epochs && !(spec.patience > 0 && epochsSinceBest >= spec.patience)) {
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
    }

    const metrics = { epoch, train_loss: lossSum / lossRows, ...(await evaluate(spec, spec.validation)) };
    const batches = batch;
    epochsDone = epoch;
    batch = 0;
    lossSum = 0;
    lossRows = 0;
    const validationLoss = metrics.validation_loss;
    if (validationLoss !== undefined) {
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
  yield { kind: 'done', history, bestEpoch: bestEpoch ?? epochsDone, stoppedEarly: epochsDone < spec.epochs };
}

/** Mean loss and accuracy (classification) or RMSE in target units (regression) over a source. */
export async function evaluate(
  spec: Pick<FitSpec, 'model' | 'task' | 'targetStd'>,
  source: BatchSource | null,
  prefix: 'validation' | 'train' = 'validation',
): Promise<EpochMetrics> {
  if (source === null) return {};
  let rows = 0;
  let lossSum = 0;
  let correct = 0;
  let squaredError = 0;
  for await (const batch of source.inOrder(EVALUATION_BATCH)) {
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
