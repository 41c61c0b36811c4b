/**
 * Matrix factorization as a TrainableModel, so it trains in the same loop as the tabular models
 * (train/fit.ts: epochs of seeded batches, early stopping on validation loss, checkpoints, exact
 * resume): each row is two features, the user's and the item's index (whole numbers, exact in
 * float32 up to 2^24), and its label is the rating. The batch's indices become int64 for the
 * graph's embedding lookups.
 */
import * as ort from 'onnxruntime-node';
import type { Batch } from '../data/batch.ts';
import type { EngineOptions } from '../engine/session.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';
import { GraphTrainer } from './graph-trainer.ts';
import {
  MF_ITEM,
  MF_RATING,
  MF_SQUARED_ERROR,
  MF_USER,
  buildMatrixFactorizationEvaluationGraph,
  buildMatrixFactorizationInferenceGraph,
  buildMatrixFactorizationTrainingGraph,
  matrixFactorizationParameters,
  type MatrixFactorizationConfig,
} from './matrix-factorization.ts';
import type { Evaluation, TrainableModel, TrainingState } from './trainable-model.ts';
import { LOSS } from './training-step.ts';

/** The row layout fit() hands over: (user index, item index). */
export const MF_ROW_WIDTH = 2;

export class MatrixFactorizationModel implements TrainableModel {
  private constructor(
    private readonly mf: MatrixFactorizationConfig,
    private readonly trainer: GraphTrainer,
  ) {}

  static async create(mf: MatrixFactorizationConfig, optimizer: OptimizerConfig, seed: number, engine: EngineOptions = {}): Promise<MatrixFactorizationModel> {
    const trainer = await GraphTrainer.create({
      parameters: matrixFactorizationParameters(mf),
      optimizer,
      trainingGraph: buildMatrixFactorizationTrainingGraph(mf, optimizer),
      evaluationGraph: buildMatrixFactorizationEvaluationGraph(mf),
      seed,
      engine,
    });
    return new MatrixFactorizationModel(mf, trainer);
  }

  get step(): number {
    return this.trainer.step;
  }

  trainStep(batch: Batch): Promise<number> {
    return this.trainer.trainStep(feeds(batch));
  }

  async evaluate(batch: Batch): Promise<Evaluation> {
    const results = await this.trainer.evaluate(feeds(batch));
    const scalar = (name: string): number => (results[name] as ort.Tensor).data[0] as number;
    return { loss: scalar(LOSS), correct: null, sumSquaredError: scalar(MF_SQUARED_ERROR) };
  }

  getState(): TrainingState {
    return this.trainer.getState();
  }

  setState(state: TrainingState): void {
    this.trainer.setState(state);
  }

  /** model.onnx: user and item indices (-1 = unknown) -> predicted ratings. Nothing to standardise. */
  exportInference(): Uint8Array {
    return buildMatrixFactorizationInferenceGraph(this.mf, this.trainer.parameterValues());
  }

  release(): Promise<void> {
    return this.trainer.release();
  }
}

function feeds(batch: Batch): Record<string, ort.Tensor> {
  const { size, x, y } = batch;
  if (x.length !== size * MF_ROW_WIDTH || y.length !== size) throw new Error(`a ratings batch of ${size} rows needs ${size * MF_ROW_WIDTH} indices and ${size} ratings`);
  const users = new BigInt64Array(size);
  const items = new BigInt64Array(size);
  for (let i = 0; i < size; i++) {
    users[i] = BigInt(x[2 * i]!);
    items[i] = BigInt(x[2 * i + 1]!);
  }
  return {
    [MF_USER]: new ort.Tensor('int64', users, [size]),
    [MF_ITEM]: new ort.Tensor('int64', items, [size]),
    [MF_RATING]: new ort.Tensor('float32', y, [size]),
  };
}
