/**
 * Losses, written with primitive ops so autodiff differentiates them like any other graph.
 * Each returns the mean over the batch (a scalar).
 */
import type { GraphBuilder } from '../graph/builder.ts';
import type { Value } from '../graph/types.ts';

/** Mean squared error over every element: mean((pred - y)^2). pred, y: (B, T). */
export function meanSquaredError(g: GraphBuilder, pred: Value, y: Value): Value {
  const diff = g.sub(pred, y); // (B, T)
  return g.reduceMean(g.mul(diff, diff), [0, 1], false); // ()
}

/**
 * Binary cross-entropy on a logit z, in the overflow-free form
 * -[y log s(z) + (1 - y) log(1 - s(z))] = max(z, 0) - z y + log(1 + exp(-|z|)).
 * z: (B, 1); y: (B) of 0 or 1.
 */
export function binaryCrossEntropyWithLogits(g: GraphBuilder, z: Value, y: Value): Value {
  const target = g.unsqueeze(y, [1]); // (B, 1)
  const softplusTail = g.log(g.add(g.scalar(1, z.dtype), g.exp(g.neg(g.abs(z))))); // (B, 1)
  const perRow = g.add(g.sub(g.relu(z), g.mul(z, target)), softplusTail); // (B, 1)
  return g.reduceMean(perRow, [0, 1], false); // ()
}

/**
 * Softmax cross-entropy: -mean_b log softmax(z_b)[y_b].
 * z: (B, K) logits; y: (B) class ids stored as floats.
 */
export function softmaxCrossEntropy(g: GraphBuilder, z: Value, y: Value): Value {
  const logp = g.logSoftmax(z, 1); // (B, K)
  const picked = g.reduceSum(g.mul(oneHot(g, y, z.shape[1] as number, z.dtype), logp), [1], false); // (B)
  return g.neg(g.reduceMean(picked, [0], false)); // ()
}

/** (B) class ids -> (B, K) one-hot rows. */
export function oneHot(g: GraphBuilder, y: Value, classes: number, dtype: Value['dtype']): Value {
  const ids = g.initializer(g.fresh('class_ids'), { dtype: y.dtype, dims: [1, classes], values: Array.from({ length: classes }, (_, k) => k) }); // (1, K)
  return g.cast(g.equal(g.unsqueeze(y, [1]), ids), dtype); // (B, K)
}
