/**
 * Fits one model: epochs of mini-batch steps, a validation pass after each epoch, early
 * stopping on the validation loss with the best parameters kept, checkpoints every N steps and
 * at each epoch's end, and a clean stop (after a checkpoint) when asked to.
 */
import type { Task } from '../artifact/model-description.ts';
import type { BatchSource } from '../data/batch-source.ts';
import type { EpochMetrics, FitPosition } from './checkpoint.ts';
import type { TrainableModel, TrainingState } from '../models/trainable-model.ts';

export interface FitSpec {
  readonly model: TrainableModel;
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
  /** Persists the fit's position; called every N steps, after each epoch, and before a stop. */
  readonly checkpoint: (position: FitPosition, best: TrainingState | null) => Promise<void>;
  /** True once the run should stop (SIGTERM). */
  readonly stopRequested: () => boolean;
  readonly onEpoch: (metrics: EpochMetrics) => void;
  readonly onBatch: (epoch: number, batch: number, trainLoss: number) => void;
}

export interface FitResult {
  readonly history: readonly EpochMetrics[];
  /** 1-based epoch whose parameters the model now holds (the best one when there is validation). */
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
}

/** Thrown after the checkpoint is written when a stop was requested. */
export class TrainingStopped extends Error {
  constructor() {
    super('training stopped on request (SIGTERM, or stdout closed) after writing a checkpoint');
    this.name = 'TrainingStopped';
  }
}

/** Rows per evaluation run: large, since evaluation keeps no gradients. */
const EVALUATION_BATCH = 1024;

export async function fit(spec: FitSpec): Promise<FitResult> {
  const { model } = spec;
  let position: FitPosition = spec.resume?.position ?? {
    epoch: 0,
    batch: 0,
    lossSum: 0,
    lossRows: 0,
    bestLoss: null,
    bestEpoch: null,
    epochsSinceBest: 0,
    history: [],
  };
  let best = spec.resume?.best ?? null;
  const patienceRunOut = () => spec.patience > 0 && position.epochsSinceBest >= spec.patience;

  // A fit resumed from its last checkpoint may already be finished (all epochs, or patience run out).
  while (position.epoch < spec.epochs && !patienceRunOut()) {
    const epoch = position.epoch + 1;
    let { batch, lossSum, lossRows } = position;
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
      spec.onBatch(epoch, batch, lossSum / lossRows);
      const stopping = spec.stopRequested();
      if (stopping || (spec.checkpointEverySteps > 0 && model.step % spec.checkpointEverySteps === 0)) {
        position = { ...position, batch, lossSum, lossRows };
        await spec.checkpoint(position, best);
        if (stopping) throw new TrainingStopped();
      }
    }

    const metrics: EpochMetrics = { epoch, train_loss: lossSum / lossRows, ...(await evaluate(spec, spec.validation)) };
    let { bestLoss, bestEpoch, epochsSinceBest } = position;
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
    position = { epoch, batch: 0, lossSum: 0, lossRows: 0, bestLoss, bestEpoch, epochsSinceBest, history: [...position.history, metrics] };
    spec.onEpoch(metrics);
    await spec.checkpoint(position, best);
    if (spec.stopRequested()) throw new TrainingStopped();
  }

  if (best !== null) model.setState(best);
  return { history: position.history, bestEpoch: position.bestEpoch ?? position.epoch, stoppedEarly: position.epoch < spec.epochs };
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
