/**
 * What the task changes around a network: the loss it trains on, what evaluation counts, and
 * how the exported graph turns the raw output into the served `output`.
 */
import type { Task } from '../artifact/model-description.ts';
import type { GraphBuilder } from '../graph/builder.ts';
import type { Shape, Value } from '../graph/types.ts';
import { binaryCrossEntropyWithLogits, meanSquaredError, softmaxCrossEntropy } from './losses.ts';

/** Shape of the batch's y input: regression (B, T) targets, classification (B) labels. */
export function targetShape(task: Task, outputSize: number): Shape {
  return task === 'regression' ? ['B', outputSize] : ['B'];
}

/** The training loss for the task, a scalar. out: (B, O). */
export function taskLoss(g: GraphBuilder, task: Task, out: Value, y: Value): Value {
  switch (task) {
    case 'regression': return meanSquaredError(g, out, y);
    case 'binary': return binaryCrossEntropyWithLogits(g, out, y);
    case 'multiclass': return softmaxCrossEntropy(g, out, y);
  }
}

/** Regression: sum of squared errors. Classification: number of rows predicted right. A scalar. */
export function taskScore(g: GraphBuilder, task: Task, out: Value, y: Value): Value {
  switch (task) {
    case 'regression': {
      const diff = g.sub(out, y); // (B, T)
      return g.reduceSum(g.mul(diff, diff), [0, 1], false); // ()
    }
    case 'binary': {
      const predicted = g.cast(g.greater(out, g.scalar(0, out.dtype)), out.dtype); // (B, 1), logit > 0 <=> p > 0.5
      const hits = g.cast(g.equal(predicted, g.unsqueeze(y, [1])), out.dtype); // (B, 1)
      return g.reduceSum(hits, [0, 1], false); // ()
    }
    case 'multiclass': {
      const predicted = g.cast(g.argMax(out, 1), out.dtype); // (B)
      return g.reduceSum(g.cast(g.equal(predicted, y), out.dtype), [0], false); // ()
    }
  }
}

/**
 * The served output from the raw output (N, O): regression values in the target's units
 * (de-standardised), or class probabilities (N, K); binary gives [P(class 0), P(class 1)].
 */
export function taskOutput(g: GraphBuilder, task: Task, out: Value, targetMean: Value | null, targetStd: Value | null): Value {
  switch (task) {
    case 'regression':
      return targetMean !== null && targetStd !== null ? g.add(g.mul(out, targetStd), targetMean) : out; // (N, T)
    case 'binary': {
      const p = g.sigmoid(out); // (N, 1)
      return g.concat([g.sub(g.scalar(1, p.dtype), p), p], 1); // (N, 2)
    }
    case 'multiclass':
      return g.softmax(out, 1); // (N, K)
  }
}
