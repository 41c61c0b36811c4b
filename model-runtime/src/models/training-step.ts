/**
 * The part of every training graph that does not depend on the model: declare the parameters,
 * their optimizer state and the step's scalar inputs; after the model has appended its forward
 * pass and loss, append the backward pass (autodiff), gradient clipping (grad_clip > 0) and the
 * optimizer update, and output `loss` and `<name>:next` for every parameter and state tensor.
 * A model with buffers (running statistics) declares and outputs them with the two helpers
 * between: their next values come from its forward pass, not from the optimizer.
 *
 * GraphTrainer (graph-trainer.ts) runs what this builds: it feeds each step's outputs back as
 * the next step's inputs.
 */
import { gradients } from '../graph/autodiff.ts';
import type { GraphBuilder } from '../graph/builder.ts';
import { clipGradientsByGlobalNorm } from '../graph/clipping.ts';
import type { Value } from '../graph/types.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';
import { appendUpdate, optimizerStateNames, scalarInputNames } from '../optim/optimizers.ts';
import type { ParameterSpec } from './network.ts';

export const LOSS = 'loss';
export const nextName = (name: string): string => `${name}:next`;

/** A training graph's declared inputs that are not the batch. */
export interface TrainingInputs {
  /** Parameter name -> its graph input. */
  readonly params: Readonly<Record<string, Value>>;
  /** Parameter name -> its optimizer state inputs, in optimizerStateNames order. */
  readonly state: Readonly<Record<string, readonly Value[]>>;
  /** The optimizer's scalar inputs (learning rate, bias corrections). */
  readonly scalars: Readonly<Record<string, Value>>;
}

export function declareTrainingInputs(g: GraphBuilder, parameters: readonly ParameterSpec[], optimizer: OptimizerConfig): TrainingInputs {
  const params = Object.fromEntries(parameters.map((p) => [p.name, g.input(p.name, 'float32', p.shape)]));
  const state = Object.fromEntries(parameters.map((p) => [p.name, optimizerStateNames(optimizer, p.name).map((s) => g.input(s, 'float32', p.shape))]));
  const scalars = Object.fromEntries(scalarInputNames(optimizer).map((s) => [s, g.input(s, 'float32', [])]));
  return { params, state, scalars };
}

/**
 * Buffers (GraphTrainer's: tensors carried from step to step that the optimizer does not update,
 * as running statistics) as inputs of their own names.
 */
export function declareBufferInputs(g: GraphBuilder, buffers: readonly ParameterSpec[]): Record<string, Value> {
  return Object.fromEntries(buffers.map((b) => [b.name, g.input(b.name, 'float32', b.shape)]));
}

/** Outputs each buffer's next value, computed by the model's forward pass, as `<name>:next`. */
export function outputBuffers(g: GraphBuilder, buffers: readonly ParameterSpec[], next: Readonly<Record<string, Value>>): void {
  for (const b of buffers) {
    const value = next[b.name];
    if (value === undefined) throw new Error(`the training graph computes no next value for buffer ${b.name}; it has ${Object.keys(next).join(', ') || 'none'}`);
    g.output(value, nextName(b.name));
  }
}

/** Outputs `loss`, then the backward pass, clipping and update of every parameter as `<name>:next` outputs. */
export function appendTrainingStep(
  g: GraphBuilder,
  loss: Value,
  parameters: readonly ParameterSpec[],
  inputs: TrainingInputs,
  optimizer: OptimizerConfig,
): void {
  g.output(loss, LOSS);
  const raw = gradients(g, loss, parameters.map((p) => inputs.params[p.name]!));
  const grads = optimizer.gradClip > 0 ? clipGradientsByGlobalNorm(g, raw, optimizer.gradClip).gradients : raw;
  parameters.forEach((p, i) => {
    const state = inputs.state[p.name]!;
    const updated = appendUpdate(g, optimizer, inputs.params[p.name]!, grads[i]!, state, inputs.scalars);
    g.output(updated.param, nextName(p.name));
    updated.state.forEach((s, k) => g.output(s, nextName(state[k]!.name)));
  });
}
