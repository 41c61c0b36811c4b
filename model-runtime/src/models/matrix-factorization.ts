/**
 * Matrix factorization for explicit ratings (the biased "SVD" model of the Netflix prize):
 *
 *     r̂(u, i) = μ + b_u + b_i + p_u · q_i
 *
 * μ the training ratings' mean (a constant), b_u and b_i learned biases, p_u and q_i learned
 * embedding_dim-wide factors. Trained on MSE plus L2 on the biases and factors of the batch's
 * users and items (each rating pulls only its own rows, as in the classic SGD updates); the
 * embedding gradients are scatter-adds into the tables, never dense (U, D) products.
 *
 * The served graph takes user and item indices with -1 for an id training never saw: that
 * side's bias and factors count as zero, so an unknown user gets μ + b_i and an unknown item
 * μ + b_u.
 */
import { GraphBuilder } from '../graph/builder.ts';
import { toModelBytes } from '../graph/proto.ts';
import type { Value } from '../graph/types.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';
import type { ParameterSpec } from './network.ts';
import { LOSS, appendTrainingStep, declareTrainingInputs } from './training-step.ts';

export interface MatrixFactorizationConfig {
  readonly users: number;
  readonly items: number;
  /** D: width of each user's and item's factor vector. */
  readonly embeddingDim: number;
  /** λ: weight of the L2 penalty on the batch's biases and factors. */
  readonly regularization: number;
  /** μ: the mean training rating. */
  readonly globalMean: number;
}

/** Batch inputs (int64 indices, float32 ratings) and outputs. */
export const MF_USER = 'user';
export const MF_ITEM = 'item';
export const MF_RATING = 'rating';
export const MF_SQUARED_ERROR = 'squared_error';
/** The served model's output: one predicted rating per (user, item) pair. */
export const MF_PREDICTION = 'prediction';

/** Small random factors (so p_u · q_i starts near 0 and the biases learn first), zero biases. */
export function matrixFactorizationParameters(config: MatrixFactorizationConfig): ParameterSpec[] {
  const { users, items, embeddingDim: d } = config;
  return [
    { name: 'user_factors', shape: [users, d], init: { normal: 0.1 } },
    { name: 'item_factors', shape: [items, d], init: { normal: 0.1 } },
    { name: 'user_bias', shape: [users], init: 'zeros' },
    { name: 'item_bias', shape: [items], init: 'zeros' },
  ];
}

interface Rows {
  readonly userFactors: Value; // (B, D)
  readonly itemFactors: Value; // (B, D)
  readonly userBias: Value; // (B)
  readonly itemBias: Value; // (B)
}

/** r̂ for each (user, item) row of the batch: (B). */
function predict(g: GraphBuilder, rows: Rows, config: MatrixFactorizationConfig): Value {
  const interaction = g.reduceSum(g.mul(rows.userFactors, rows.itemFactors), [1], false); // (B)
  const biases = g.add(g.add(rows.userBias, rows.itemBias), g.scalar(config.globalMean, 'float32')); // (B)
  return g.add(biases, interaction); // (B)
}

function lookup(g: GraphBuilder, p: Readonly<Record<string, Value>>, user: Value, item: Value): Rows {
  return {
    userFactors: g.gather(p.user_factors!, user),
    itemFactors: g.gather(p.item_factors!, item),
    userBias: g.gather(p.user_bias!, user),
    itemBias: g.gather(p.item_bias!, item),
  };
}

/** Inputs: the parameters, optimizer state, user (B), item (B), rating (B). Output: loss = MSE + λ L2, and `:next`s. */
export function buildMatrixFactorizationTrainingGraph(config: MatrixFactorizationConfig, optimizer: OptimizerConfig): Uint8Array {
  const g = new GraphBuilder('matrix_factorization_training_step');
  const parameters = matrixFactorizationParameters(config);
  const inputs = declareTrainingInputs(g, parameters, optimizer);
  const user = g.input(MF_USER, 'int64', ['B']);
  const item = g.input(MF_ITEM, 'int64', ['B']);
  const rating = g.input(MF_RATING, 'float32', ['B']);
  const rows = lookup(g, inputs.params, user, item);
  const error = g.sub(predict(g, rows, config), rating); // (B)
  const mse = g.reduceMean(g.mul(error, error), [0], false); // ()
  // Per rating: |p_u|² + |q_i|² + b_u² + b_i², averaged over the batch.
  const squares = (v: Value): Value => g.reduceSum(g.mul(v, v), [1], false); // (B)
  const penalty = g.add(g.add(squares(rows.userFactors), squares(rows.itemFactors)), g.add(g.mul(rows.userBias, rows.userBias), g.mul(rows.itemBias, rows.itemBias)));
  const loss = g.add(mse, g.mul(g.scalar(config.regularization, 'float32'), g.reduceMean(penalty, [0], false)));
  appendTrainingStep(g, loss, parameters, inputs, optimizer);
  return toModelBytes(g);
}

/** Inputs: the parameters, user (B), item (B), rating (B). Outputs: loss (the MSE), squared_error (its sum). */
export function buildMatrixFactorizationEvaluationGraph(config: MatrixFactorizationConfig): Uint8Array {
  const g = new GraphBuilder('matrix_factorization_evaluation');
  const params = Object.fromEntries(matrixFactorizationParameters(config).map((p) => [p.name, g.input(p.name, 'float32', p.shape)]));
  const user = g.input(MF_USER, 'int64', ['B']);
  const item = g.input(MF_ITEM, 'int64', ['B']);
  const rating = g.input(MF_RATING, 'float32', ['B']);
  const error = g.sub(predict(g, lookup(g, params, user, item), config), rating);
  const squared = g.mul(error, error);
  g.output(g.reduceMean(squared, [0], false), LOSS);
  g.output(g.reduceSum(squared, [0], false), MF_SQUARED_ERROR);
  return toModelBytes(g);
}

/** model.onnx: user (N), item (N) int64 indices, -1 for unknown -> prediction (N), the parameters inside. */
export function buildMatrixFactorizationInferenceGraph(
  config: MatrixFactorizationConfig,
  values: Readonly<Record<string, { readonly dims: readonly number[]; readonly data: Float32Array }>>,
): Uint8Array {
  const g = new GraphBuilder('matrix_factorization');
  const params = Object.fromEntries(
    matrixFactorizationParameters(config).map((p) => [p.name, g.initializer(p.name, { dtype: 'float32', dims: p.shape, values: values[p.name]!.data })]),
  );
  const user = g.input(MF_USER, 'int64', ['N']);
  const item = g.input(MF_ITEM, 'int64', ['N']);
  const zero = g.scalar(0, 'int64');
  // -1 (unknown) looks up row 0 and is then multiplied by 0: that side contributes nothing.
  const known = (index: Value): Value => g.cast(g.greater(index, g.scalar(-1, 'int64')), 'float32'); // (N) 1 or 0
  const safe = (index: Value): Value => g.where(g.less(index, zero), zero, index);
  const [knownUser, knownItem] = [known(user), known(item)];
  const rows = lookup(g, params, safe(user), safe(item));
  const masked: Rows = {
    userFactors: g.mul(rows.userFactors, g.unsqueeze(knownUser, [1])),
    itemFactors: g.mul(rows.itemFactors, g.unsqueeze(knownItem, [1])),
    userBias: g.mul(rows.userBias, knownUser),
    itemBias: g.mul(rows.itemBias, knownItem),
  };
  g.output(predict(g, masked, config), MF_PREDICTION);
  return toModelBytes(g);
}
