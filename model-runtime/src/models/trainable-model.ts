/**
 * The seam between the training loop (train/: epochs, checkpoints, the SageMaker contract) and
 * the numeric core (ONNX graphs, autodiff, ONNX Runtime sessions). The loop only ever sees
 * this interface; onnx-trainable-model.ts implements it.
 */
import type { InferencePreprocessing, TabularAlgorithm, Task } from '../artifact/model-description.ts';
import type { Batch } from '../data/batch.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';

/** What to build. Sizes are known once the data's schema is read. */
export interface ModelConfig {
  readonly algorithm: TabularAlgorithm;
  readonly task: Task;
  /** F: number of input features. */
  readonly inputSize: number;
  /** Regression: number of targets (T). Binary: 1 (one logit). Multiclass: number of classes (K). */
  readonly outputSize: number;
  /** mlp only: hidden layer widths, e.g. [64, 64]. */
  readonly hiddenSizes: readonly number[];
  /** mlp only. */
  readonly activation: 'relu' | 'tanh' | 'sigmoid';
  /** mlp only: dropout probability on hidden activations during training, 0 = off. */
  readonly dropout: number;
  /** Seeds the initial weights (and dropout masks). */
  readonly seed: number;
}

export interface Evaluation {
  /** Mean loss over the batch. */
  readonly loss: number;
  /** Classification only: how many rows were predicted right. */
  readonly correct: number | null;
  /** Regression only: sum of squared errors in standardised units. */
  readonly sumSquaredError: number | null;
}

/** Everything needed to resume exactly: parameters, optimizer state, step counter. */
export interface TrainingState {
  readonly step: number;
  readonly tensors: Readonly<Record<string, { readonly dims: readonly number[]; readonly data: Float32Array }>>;
}

export interface TrainableModel {
  readonly config: ModelConfig;
  /** Optimizer steps taken so far (restored by setState): read every batch, so it copies nothing. */
  readonly step: number;
  /** One optimizer step (forward, backward, update) as one ONNX Runtime run. Returns the batch's mean loss. */
  trainStep(batch: Batch): Promise<number>;
  /** Forward pass and loss only; no update, no dropout. */
  evaluate(batch: Batch): Promise<Evaluation>;
  /** A copy of the parameters and optimizer state, for a checkpoint or the best epoch so far. */
  getState(): TrainingState;
  setState(state: TrainingState): void;
  /**
   * The inference graph as ONNX bytes, with the current parameters as initializers:
   * input `features` (N, F) raw, output `output` as described in artifact/model-description.ts.
   */
  exportInference(preprocessing: InferencePreprocessing): Uint8Array;
  release(): Promise<void>;
}

export type CreateTrainableModel = (model: ModelConfig, optimizer: OptimizerConfig) => Promise<TrainableModel>;
