/**
 * A minimal hand-built inference graph for artifact tests that must not depend on the numeric
 * core: output = features @ W + b, as float32, with the model.onnx I/O contract's names.
 */
import { MODEL_FORMAT, type TabularModelDescription } from '../../../model-runtime/src/artifact/model-description.ts';
import { denseNetworkOnnx } from '../../serve/fixtures/onnx-models.ts';

/** One Gemm layer, (F) weights and a bias: the serving fixtures' dense network with a single layer. */
export function tinyLinearOnnx(weights: readonly number[], bias: number): Uint8Array {
  return denseNetworkOnnx([{ weights: weights.map((w) => [w]), bias: [bias] }], false);
}

export function tinyDescription(features: readonly string[]): TabularModelDescription {
  return {
    format: MODEL_FORMAT,
    algorithm: 'linear-regression',
    task: 'regression',
    hyperparameters: { algorithm: 'linear-regression' },
    features,
    targets: ['y'],
    labels: null,
    preprocessing: {
      featureMean: features.map(() => 0),
      featureStd: features.map(() => 1),
      targetMean: [0],
      targetStd: [1],
    },
    metrics: { train_loss: 0.01 },
    versions: { modelstack: '0.1.0', onnxruntime: '1.30.0', node: process.version },
  };
}
