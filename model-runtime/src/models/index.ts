/**
 * The numeric core's entry: builds the network the `algorithm` names, and wraps it as a
 * TrainableModel whose every step is one ONNX Runtime run.
 *
 *   linear-regression    one affine layer, MSE                      (regression)
 *   logistic-regression  one affine layer, binary / softmax CE      (binary, multiclass)
 *   mlp                  hidden layers + activation + dropout, MSE or CE (any task)
 */
import type { EngineOptions } from '../engine/session.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';
import { Linear } from './linear.ts';
import { Mlp } from './mlp.ts';
import type { Network } from './network.ts';
import { OnnxTrainableModel } from './onnx-trainable-model.ts';
import type { CreateTrainableModel, ModelConfig, TrainableModel } from './trainable-model.ts';
import { validateModelConfig, validateOptimizerConfig } from './validate.ts';

/** The network for a model configuration (validated first). */
export function createNetwork(model: ModelConfig): Network {
  validateModelConfig(model);
  switch (model.algorithm) {
    case 'linear-regression':
    case 'logistic-regression':
      return new Linear({ inputSize: model.inputSize, outputSize: model.outputSize });
    case 'mlp':
      return new Mlp({
        inputSize: model.inputSize,
        hiddenSizes: model.hiddenSizes,
        outputSize: model.outputSize,
        activation: model.activation,
        dropout: model.dropout,
      });
  }
}

/**
 * Builds the model's training and evaluation graphs and opens their ONNX Runtime sessions.
 * `engine` picks the device and threads (default: MODEL_RUNTIME_DEVICE / MODEL_RUNTIME_THREADS).
 */
export async function createTrainableModel(model: ModelConfig, optimizer: OptimizerConfig, engine: EngineOptions = {}): Promise<TrainableModel> {
  const network = createNetwork(model);
  validateOptimizerConfig(optimizer);
  return OnnxTrainableModel.create(model, optimizer, { network, task: model.task, inputSize: model.inputSize, outputSize: model.outputSize }, engine);
}

// The promised seam: createTrainableModel is a CreateTrainableModel.
createTrainableModel satisfies CreateTrainableModel;

export type { Network } from './network.ts';
export type { EngineOptions } from '../engine/session.ts';
