/**
 * What every model provides: its parameters (name, shape, initialisation) and a forward pass
 * written against the graph builder. The same forward pass builds the training graph (params
 * are graph inputs, dropout on), the evaluation graph (dropout off) and the exported inference
 * graph (params baked in as initializers).
 */
import type { GraphBuilder } from '../graph/builder.ts';
import type { Value } from '../graph/types.ts';
import type { Init } from './init.ts';

export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Init;
}

export interface Network {
  readonly parameters: readonly ParameterSpec[];
  /**
   * Widths of the activations that dropout applies to, in forward order. The training graph
   * takes one mask input (B, width) per entry; empty when dropout is off.
   */
  readonly dropoutWidths: readonly number[];
  /**
   * x (B, F) -> (B, O): the raw model output (regression values, or logits).
   * `masks` are the dropout masks (already scaled by 1 / (1 - p)), or null for no dropout.
   */
  forward(g: GraphBuilder, x: Value, params: Readonly<Record<string, Value>>, masks: readonly Value[] | null): Value;
}
