/**
 * A minimal hand-built inference graph for artifact tests that must not depend on the numeric
 * core: output = features @ W + b, as float32, with the model.onnx I/O contract's names.
 */
import { onnx } from 'onnx-proto';
import { INFERENCE_INPUT, INFERENCE_OUTPUT, MODEL_FORMAT, type ModelDescription } from '../../../model-runtime/src/artifact/model-description.ts';

export function tinyLinearOnnx(weights: readonly number[], bias: number): Uint8Array {
  const f = weights.length;
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'modelstack-test',
    graph: {
      name: 'tiny-linear',
      node: [{ opType: 'Gemm', input: [INFERENCE_INPUT, 'W', 'b'], output: [INFERENCE_OUTPUT] }],
      initializer: [
        { name: 'W', dataType: onnx.TensorProto.DataType.FLOAT, dims: [f, 1], floatData: [...weights] },
        { name: 'b', dataType: onnx.TensorProto.DataType.FLOAT, dims: [1], floatData: [bias] },
      ],
      input: [valueInfo(INFERENCE_INPUT, ['N', f])],
      output: [valueInfo(INFERENCE_OUTPUT, ['N', 1])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function valueInfo(name: string, dims: ReadonlyArray<string | number>): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export function tinyDescription(features: readonly string[]): ModelDescription {
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
    createdAt: new Date(0).toISOString(),
  };
}
