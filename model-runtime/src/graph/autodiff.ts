/**
 * Reverse-mode automatic differentiation over the builder's tape.
 *
 * 1. Forward sweep: which values depend on any of `wrt` (only those need gradients).
 * 2. Backward sweep: walk the nodes in reverse creation order; for each node whose output has
 *    a gradient, apply its rule from gradients.ts to the inputs that need one, summing
 *    contributions when a value feeds several nodes.
 * The gradient nodes are appended to the same builder, so forward and backward end up in one
 * ONNX graph (and one ONNX Runtime run).
 */
import type { GraphBuilder } from './builder.ts';
import { GRADIENT_RULES, NON_DIFFERENTIABLE } from './gradients.ts';
import { formatShape, sameShape } from './shape.ts';
import type { Value } from './types.ts';
import { isFloat } from './types.ts';

/** d(loss)/d(w) for each w in `wrt`, as values of the same graph. `loss` must be a scalar. */
export function gradients(g: GraphBuilder, loss: Value, wrt: readonly Value[]): Value[] {
  if (loss.shape.length !== 0) throw new Error(`gradients: loss must be a scalar, got shape ${formatShape(loss.shape)}`);
  const tape = [...g.nodes];
  // An If's branches read outer values by name, not through node inputs, so the sweeps below
  // would miss what flows through them and return wrong (zero) gradients: refuse instead.
  const controlFlow = tape.find((node) => Object.values(node.attributes).some((a) => 'graph' in a));
  if (controlFlow !== undefined) {
    throw new Error(`gradients: graph ${g.name} has an ${controlFlow.op} node (output ${controlFlow.outputs[0]?.name}) with subgraphs; autodiff does not differentiate through control flow, build the gradient graph without ${controlFlow.op}`);
  }

  // 1. Values downstream of a parameter.
  const needs = new Set(wrt.map((w) => w.name));
  for (const node of tape) {
    if (NON_DIFFERENTIABLE.has(node.op)) continue;
    if (node.inputs.some((v) => v !== null && needs.has(v.name))) {
      for (const out of node.outputs) if (isFloat(out.dtype)) needs.add(out.name);
    }
  }
  if (!needs.has(loss.name)) throw new Error(`gradients: loss ${loss.name} does not depend on ${wrt.map((w) => w.name).join(', ')}`);

  // 2. Backward sweep.
  const grads = new Map<string, Value>([[loss.name, g.scalar(1, loss.dtype)]]);
  const accumulate = (v: Value, grad: Value): void => {
    if (!sameShape(grad.shape, v.shape) && !grad.shape.some((d) => typeof d === 'string')) {
      throw new Error(`gradients: gradient of ${v.name} has shape ${formatShape(grad.shape)}, expected ${formatShape(v.shape)}`);
    }
    const previous = grads.get(v.name);
    grads.set(v.name, previous === undefined ? grad : g.add(previous, grad));
  };
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    const dy = grads.get(node.outputs[0]!.name);
    if (dy === undefined) continue;
    const wants = node.inputs.map((v) => v !== null && needs.has(v.name));
    if (!wants.some(Boolean)) continue;
    const rule = GRADIENT_RULES[node.gradient ?? node.op];
    if (rule === undefined) throw new Error(`gradients: no gradient rule ${node.gradient ?? `for op ${node.op}`} (node output ${node.outputs[0]!.name})`);
    const inputGrads = rule(g, node, dy, wants);
    node.inputs.forEach((v, k) => {
      const grad = inputGrads[k];
      if (v !== null && wants[k] === true && grad !== null && grad !== undefined) accumulate(v, grad);
    });
  }

  return wrt.map((w) => {
    const grad = grads.get(w.name);
    // A parameter the loss does not reach (possible for unused embedding rows' tables) gets zeros.
    return grad ?? g.zerosLike(w);
  });
}
