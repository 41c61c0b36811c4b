/**
 * Linear and logistic regression: one affine layer, y = x W^T + b.
 * Linear regression reads y as the prediction (trained with MSE); logistic regression reads it
 * as logits (one logit with binary cross-entropy, K logits with softmax cross-entropy).
 */
import type { GraphBuilder } from '../graph/builder.ts';
import type { Value } from '../graph/types.ts';
import type { Network, ParameterSpec } from './network.ts';

export interface LinearConfig {
  /** F: input features. */
  readonly inputSize: number;
  /** O: outputs (targets, 1 binary logit, or K class logits). */
  readonly outputSize: number;
}

export class Linear implements Network {
  readonly parameters: readonly ParameterSpec[];
  readonly dropoutWidths: readonly number[] = [];

  constructor(readonly config: LinearConfig) {
    this.parameters = [
      { name: 'linear.weight', shape: [config.outputSize, config.inputSize], init: 'zeros' }, // (O, F)
      { name: 'linear.bias', shape: [config.outputSize], init: 'zeros' }, // (O)
    ];
  }

  forward(g: GraphBuilder, x: Value, p: Readonly<Record<string, Value>>): Value {
    return g.gemm(x, p['linear.weight']!, p['linear.bias']!, { transB: true }); // (B, O)
  }
}
