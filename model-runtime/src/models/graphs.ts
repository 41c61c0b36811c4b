/**
 * The three graphs built from one network:
 * - training step: forward, loss, backward (autodiff), gradient clipping (grad_clip > 0),
 *   optimizer update; one ONNX Runtime run.
 * - evaluation: forward, loss and a score (correct rows or squared error), no dropout.
 * - inference (the exported model.onnx): standardise `features`, forward, task output, with the
 *   current parameters baked in as initializers.
 */
import type { InferencePreprocessing, Task } from '../artifact/model-description.ts';
import { INFERENCE_INPUT, INFERENCE_OUTPUT } from '../artifact/model-description.ts';
import { GraphBuilder } from '../graph/builder.ts';
import { toModelBytes } from '../graph/proto.ts';
import type { Value } from '../graph/types.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';
import type { Network } from './network.ts';
import { targetShape, taskLoss, taskOutput, taskScore } from './task.ts';
import { LOSS, appendTrainingStep, declareTrainingInputs } from './training-step.ts';

/** Graph input names of the batch. */
export const BATCH_X = 'x';
export const BATCH_Y = 'y';
export const SCORE = 'score';
export const dropoutMaskName = (i: number): string => `dropout_mask${i}`;
export { LOSS, nextName } from './training-step.ts';

export interface GraphSpec {
  readonly network: Network;
  readonly task: Task;
  readonly inputSize: number;
  readonly outputSize: number;
}

function declareParameters(g: GraphBuilder, network: Network): Record<string, Value> {
  return Object.fromEntries(network.parameters.map((p) => [p.name, g.input(p.name, 'float32', p.shape)]));
}

/**
 * Inputs: parameters, optimizer state, x (B, F), y, the scalar step inputs, dropout masks.
 * Outputs: loss, then `<name>:next` for every parameter and state tensor.
 */
export function buildTrainingGraph(spec: GraphSpec, optimizer: OptimizerConfig): Uint8Array {
  const g = new GraphBuilder('training_step');
  const inputs = declareTrainingInputs(g, spec.network.parameters, optimizer);
  const x = g.input(BATCH_X, 'float32', ['B', spec.inputSize]); // (B, F)
  const y = g.input(BATCH_Y, 'float32', targetShape(spec.task, spec.outputSize)); // (B, T) or (B)
  const masks = spec.network.dropoutWidths.map((w, i) => g.input(dropoutMaskName(i), 'float32', ['B', w])); // (B, H_i)

  const out = spec.network.forward(g, x, inputs.params, masks.length > 0 ? masks : null); // (B, O)
  const loss = taskLoss(g, spec.task, out, y); // ()
  appendTrainingStep(g, loss, spec.network.parameters, inputs, optimizer);
  return toModelBytes(g);
}

/** Inputs: parameters, x (B, F), y. Outputs: loss (mean), score (correct rows or squared-error sum). */
export function buildEvaluationGraph(spec: GraphSpec): Uint8Array {
  const g = new GraphBuilder('evaluation');
  const params = declareParameters(g, spec.network);
  const x = g.input(BATCH_X, 'float32', ['B', spec.inputSize]); // (B, F)
  const y = g.input(BATCH_Y, 'float32', targetShape(spec.task, spec.outputSize));
  const out = spec.network.forward(g, x, params, null); // (B, O)
  g.output(taskLoss(g, spec.task, out, y), LOSS);
  g.output(taskScore(g, spec.task, out, y), SCORE);
  return toModelBytes(g);
}

/** model.onnx: `features` (N, F) raw -> `output` (see artifact/model-description.ts). */
export function buildInferenceGraph(
  spec: GraphSpec,
  parameters: Readonly<Record<string, { readonly dims: readonly number[]; readonly data: Float32Array }>>,
  pre: InferencePreprocessing,
): Uint8Array {
  const g = new GraphBuilder('inference');
  const params = Object.fromEntries(
    spec.network.parameters.map((p) => [p.name, g.initializer(p.name, { dtype: 'float32', dims: p.shape, values: parameters[p.name]!.data })]),
  );
  const vector = (name: string, values: readonly number[]): Value =>
    g.initializer(name, { dtype: 'float32', dims: [1, values.length], values: Float32Array.from(values) });
  // A constant feature has std 0; dividing by 1 instead keeps it at 0 after centring.
  const safeStd = (std: readonly number[]): number[] => std.map((s) => (s > 0 && Number.isFinite(s) ? s : 1));

  const features = g.input(INFERENCE_INPUT, 'float32', ['N', spec.inputSize]); // (N, F)
  const x = g.div(g.sub(features, vector('feature_mean', pre.featureMean)), vector('feature_std', safeStd(pre.featureStd))); // (N, F)
  const out = spec.network.forward(g, x, params, null); // (N, O)
  const regression = spec.task === 'regression' && pre.targetMean !== null && pre.targetStd !== null;
  const result = taskOutput(
    g,
    spec.task,
    out,
    regression ? vector('target_mean', pre.targetMean!) : null,
    regression ? vector('target_std', pre.targetStd!) : null,
  ); // (N, T) or (N, K)
  g.output(result, INFERENCE_OUTPUT);
  return toModelBytes(g);
}
