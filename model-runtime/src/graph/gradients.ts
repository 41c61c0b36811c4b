/**
 * Reverse-mode rules: for each op, given the node and the gradient of its output (dy), append
 * the nodes that compute the gradient of each input that `wants` one. Elementwise rules sum
 * the gradient back over broadcast axes (`unbroadcast`), so every elementwise op broadcasts.
 */
import type { GraphBuilder } from './builder.ts';
import { clampSlice } from './builder.ts';
import { CONVOLUTION_GRADIENT_RULES } from './convolution.ts';
import { broadcastReduction, formatShape, sameShape } from './shape.ts';
import type { NodeRecord, Value } from './types.ts';

export type GradientRule = (g: GraphBuilder, node: NodeRecord, dy: Value, wants: readonly boolean[]) => (Value | null)[];

/** Sums a gradient over the axes along which `input` was broadcast, back to input's shape. */
export function unbroadcast(g: GraphBuilder, grad: Value, input: Value): Value {
  if (sameShape(grad.shape, input.shape)) return grad;
  const { leading, kept } = broadcastReduction(input.shape, grad.shape);
  let out = grad;
  if (leading.length > 0) out = g.reduceSum(out, leading, false);
  if (kept.length > 0) out = g.reduceSum(out, kept, true);
  if (!sameShape(out.shape, input.shape)) {
    // Symbolic dims that could not be matched statically: fall back to the run-time shape.
    out = g.reshapeLike(out, input);
  }
  return out;
}

const input = (node: NodeRecord, i: number): Value => {
  const v = node.inputs[i];
  if (v === null || v === undefined) throw new Error(`${node.op}: input ${i} is missing`);
  return v;
};
const output = (node: NodeRecord): Value => node.outputs[0] as Value;
const one = (g: GraphBuilder, like: Value): Value => g.scalar(1, like.dtype);
const intAttr = (node: NodeRecord, name: string, fallback: number): number => {
  const a = node.attributes[name];
  return a !== undefined && 'int' in a ? a.int : fallback;
};
/** Constant int64 vector fed as an input (axes, starts, ...): read back from the builder. */
const constInts = (g: GraphBuilder, v: Value): number[] => {
  const found = g.declaredInitializers.find((d) => d.value.name === v.name);
  if (found?.data === null || found === undefined) throw new Error(`expected a constant int64 tensor for ${v.name}`);
  return Array.from(found.data.values as ArrayLike<number>);
};

/** Gradients of a product-like op, each only when wanted. */
function maybe(wants: readonly boolean[], ...compute: (() => Value)[]): (Value | null)[] {
  return compute.map((f, i) => (wants[i] === true ? f() : null));
}

export const GRADIENT_RULES: Readonly<Record<string, GradientRule>> = {
  ...CONVOLUTION_GRADIENT_RULES,
  Identity: (_g, _n, dy) => [dy],
  Add: (g, n, dy, w) => maybe(w, () => unbroadcast(g, dy, input(n, 0)), () => unbroadcast(g, dy, input(n, 1))),
  Sub: (g, n, dy, w) => maybe(w, () => unbroadcast(g, dy, input(n, 0)), () => unbroadcast(g, g.neg(dy), input(n, 1))),
  Mul: (g, n, dy, w) =>
    maybe(w, () => unbroadcast(g, g.mul(dy, input(n, 1)), input(n, 0)), () => unbroadcast(g, g.mul(dy, input(n, 0)), input(n, 1))),
  // y = a / b: da = dy / b, db = -dy * y / b
  Div: (g, n, dy, w) =>
    maybe(
      w,
      () => unbroadcast(g, g.div(dy, input(n, 1)), input(n, 0)),
      () => unbroadcast(g, g.neg(g.div(g.mul(dy, output(n)), input(n, 1))), input(n, 1)),
    ),
  // y = a ^ b: da = dy * b * a^(b-1), db = dy * y * ln(a)
  Pow: (g, n, dy, w) => {
    const [a, b] = [input(n, 0), input(n, 1)];
    return maybe(
      w,
      () => unbroadcast(g, g.mul(dy, g.mul(b, g.pow(a, g.sub(b, one(g, b))))), a),
      () => unbroadcast(g, g.mul(dy, g.mul(output(n), g.log(a))), b),
    );
  },
  Neg: (g, _n, dy) => [g.neg(dy)],
  Exp: (g, n, dy) => [g.mul(dy, output(n))],
  Log: (g, n, dy) => [g.div(dy, input(n, 0))],
  // y = sqrt(x): dx = dy / (2 y)
  Sqrt: (g, n, dy) => [g.div(g.mul(dy, g.scalar(0.5, dy.dtype)), output(n))],
  Abs: (g, n, dy) => [g.mul(dy, g.sign(input(n, 0)))],
  // dy masked by x > 0 as a product: ONNX Runtime's Where with a scalar branch took 1.5x as long
  // as Cast + Mul on a CNN's activations.
  Relu: (g, n, dy) => [g.mul(dy, g.cast(g.greater(input(n, 0), g.scalar(0, dy.dtype)), dy.dtype))],
  // y = erf(x): dx = dy * 2/sqrt(pi) * exp(-x^2)
  Erf: (g, n, dy) => {
    const x = input(n, 0);
    return [g.mul(dy, g.mul(g.scalar(2 / Math.sqrt(Math.PI), dy.dtype), g.exp(g.neg(g.mul(x, x)))))];
  },
  // y = min(a, b): the gradient goes to the smaller input (to a on ties).
  Min: (g, n, dy, w) => {
    const [a, b] = [input(n, 0), input(n, 1)];
    const zero = g.scalar(0, dy.dtype);
    const bIsSmaller = g.greater(a, b);
    return maybe(w, () => unbroadcast(g, g.where(bIsSmaller, zero, dy), a), () => unbroadcast(g, g.where(bIsSmaller, dy, zero), b));
  },
  // y = sigmoid(x): dx = dy * y * (1 - y)
  Sigmoid: (g, n, dy) => {
    const y = output(n);
    return [g.mul(dy, g.mul(y, g.sub(one(g, y), y)))];
  },
  // y = tanh(x): dx = dy * (1 - y^2)
  Tanh: (g, n, dy) => {
    const y = output(n);
    return [g.mul(dy, g.sub(one(g, y), g.mul(y, y)))];
  },
  // y = softmax(x): dx = y * (dy - sum(dy * y))
  Softmax: (g, n, dy) => {
    const y = output(n);
    const axis = intAttr(n, 'axis', -1);
    return [g.mul(y, g.sub(dy, g.reduceSum(g.mul(dy, y), [axis], true)))];
  },
  // y = logsoftmax(x): dx = dy - softmax(x) * sum(dy)
  LogSoftmax: (g, n, dy) => {
    const axis = intAttr(n, 'axis', -1);
    return [g.sub(dy, g.mul(g.exp(output(n)), g.reduceSum(dy, [axis], true)))];
  },
  ReduceSum: (g, n, dy) => [g.expandLike(keptDims(g, n, dy), input(n, 0))],
  ReduceMean: (g, n, dy) => {
    const x = input(n, 0);
    const count = g.div(g.sizeOf(x, dy.dtype), g.sizeOf(output(n), dy.dtype));
    return [g.expandLike(g.div(keptDims(g, n, dy), count), x)];
  },
  // Y = op(A) op(B) + C; see the derivation per transpose case in the comments.
  Gemm: (g, n, dy, w) => {
    const [a, b, c] = [input(n, 0), input(n, 1), n.inputs[2] ?? null];
    const transA = intAttr(n, 'transA', 0) === 1;
    const transB = intAttr(n, 'transB', 0) === 1;
    if ((n.attributes.alpha ?? n.attributes.beta) !== undefined) throw new Error('Gemm: gradients support alpha = beta = 1 only');
    const gradA = (): Value =>
      !transA
        ? g.gemm(dy, b, null, { transB: !transB }) // dA = dY op(B)^T
        : g.gemm(b, dy, null, { transA: transB, transB: true }); // dA = op(B) dY^T
    const gradB = (): Value =>
      !transB
        ? g.gemm(a, dy, null, { transA: !transA }) // dB = op(A)^T dY
        : g.gemm(dy, a, null, { transA: true, transB: transA }); // dB = dY^T op(A)
    return maybe(w, gradA, gradB, () => unbroadcast(g, dy, c as Value));
  },
  // Y = A B (batched): dA = dY B^T, dB = A^T dY, summed over broadcast batch axes.
  MatMul: (g, n, dy, w) => {
    const [a, b] = [input(n, 0), input(n, 1)];
    const t = (v: Value): Value => {
      const perm = v.shape.map((_, i) => i);
      perm.splice(-2, 2, v.shape.length - 1, v.shape.length - 2);
      return g.transpose(v, perm);
    };
    // A 2-D weight shared by every batch row (a linear layer, the LM head): dB = A^T dY with
    // the batch axes folded into the rows, so the (batch..., K, N) per-row products that
    // unbroadcast would sum are never materialised (B x C x V floats for a vocabulary head).
    const gradB = (): Value =>
      b.shape.length === 2 && a.shape.length > 2
        ? g.gemm(g.flatten(a, a.shape.length - 1), g.flatten(dy, dy.shape.length - 1), null, { transA: true })
        : unbroadcast(g, g.matmul(t(a), dy), b);
    return maybe(w, () => unbroadcast(g, g.matmul(dy, t(b)), a), gradB);
  },
  Flatten: (g, n, dy) => [g.reshapeLike(dy, input(n, 0))],
  // Over the last axis, with x^ = (x - mean) * invstd and dx^ = dy * scale:
  // dx = invstd * (dx^ - mean(dx^) - x^ * mean(dx^ * x^)).
  LayerNormalization: (g, n, dy, w) => {
    const [x, scale, bias] = [input(n, 0), input(n, 1), n.inputs[2] ?? null];
    if (intAttr(n, 'axis', -1) !== -1 && intAttr(n, 'axis', -1) !== x.shape.length - 1) {
      throw new Error('LayerNormalization gradient: only normalization over the last axis is supported');
    }
    const [mean, invStd] = layerNormStatistics(g, n, x);
    const normalized = g.mul(g.sub(x, mean), invStd);
    const gradX = (): Value => {
      const dNormalized = g.mul(dy, scale);
      const centred = g.sub(dNormalized, g.reduceMean(dNormalized, [-1], true));
      return g.mul(invStd, g.sub(centred, g.mul(normalized, g.reduceMean(g.mul(dNormalized, normalized), [-1], true))));
    };
    return maybe(w, gradX, () => unbroadcast(g, g.mul(dy, normalized), scale), () => unbroadcast(g, dy, bias as Value));
  },
  Reshape: (g, n, dy) => [g.reshapeLike(dy, input(n, 0))],
  Unsqueeze: (g, n, dy) => [g.reshapeLike(dy, input(n, 0))],
  Squeeze: (g, n, dy) => [g.reshapeLike(dy, input(n, 0))],
  Transpose: (g, n, dy) => {
    const perm = (n.attributes.perm as { ints: readonly number[] }).ints;
    const inverse: number[] = [];
    perm.forEach((p, i) => (inverse[p] = i));
    return [g.transpose(dy, inverse)];
  },
  Concat: (g, n, dy, w) => {
    const axis = intAttr(n, 'axis', 0);
    let offset = 0;
    return n.inputs.map((v, i) => {
      const size = (v as Value).shape[axis];
      if (typeof size !== 'number') throw new Error(`Concat gradient: input ${i} needs a fixed size on axis ${axis}, has ${formatShape((v as Value).shape)}`);
      const start = offset;
      offset += size;
      return w[i] === true ? g.slice(dy, [start], [start + size], [axis]) : null;
    });
  },
  // The gradient of a slice is the slice's gradient zero-padded back to the input's extent.
  Slice: (g, n, dy) => {
    const x = input(n, 0);
    const [starts, ends, axes] = [1, 2, 3].map((i) => constInts(g, input(n, i))) as [number[], number[], number[]];
    if (n.inputs[4] !== undefined) throw new Error('Slice gradient: steps other than 1 are not supported');
    const rank = x.shape.length;
    const pads = new Array<number>(2 * rank).fill(0);
    axes.forEach((axis, i) => {
      const a = axis < 0 ? axis + rank : axis;
      const dim = x.shape[a];
      if (typeof dim !== 'number') throw new Error(`Slice gradient: axis ${a} of ${formatShape(x.shape)} needs a fixed size`);
      const [s, e] = clampSlice(starts[i] as number, ends[i] as number, dim);
      pads[a] = s;
      pads[a + rank] = dim - Math.max(s, e);
    });
    return [g.pad(dy, pads)];
  },
  // Embedding lookup: scatter-add each row's gradient into the table (rows picked twice add up).
  Gather: (g, n, dy, w) => {
    if (intAttr(n, 'axis', 0) !== 0) throw new Error('Gather gradient: only axis 0 (embedding lookup) is supported');
    const [data, indices] = [input(n, 0), input(n, 1)];
    return maybe(w, () => g.scatterAdd(g.zerosLike(data), g.unsqueeze(indices, [-1]), dy));
  },
  Where: (g, n, dy, w) => {
    const [cond, a, b] = [input(n, 0), input(n, 1), input(n, 2)];
    const zero = g.scalar(0, dy.dtype);
    return [null, ...maybe(w.slice(1), () => unbroadcast(g, g.where(cond, dy, zero), a), () => unbroadcast(g, g.where(cond, zero, dy), b))];
  },
};

/**
 * Mean and 1 / sqrt(var + epsilon) of a LayerNormalization node's input: its own Mean and
 * InvStdDev outputs when they have the input's type (float32), recomputed for float64 input,
 * whose statistics ONNX Runtime only hands out rounded to float32.
 */
function layerNormStatistics(g: GraphBuilder, n: NodeRecord, x: Value): [Value, Value] {
  const [mean, invStd] = [n.outputs[1], n.outputs[2]];
  if (mean !== undefined && invStd !== undefined && mean.dtype === x.dtype) return [mean, invStd];
  // An ONNX float attribute is float32: use the epsilon the forward kernel saw.
  const epsilon = Math.fround(n.attributes.epsilon !== undefined && 'float' in n.attributes.epsilon ? n.attributes.epsilon.float : 1e-5);
  const recomputedMean = g.reduceMean(x, [-1], true);
  const centred = g.sub(x, recomputedMean);
  const variance = g.reduceMean(g.mul(centred, centred), [-1], true);
  return [recomputedMean, g.div(one(g, x), g.sqrt(g.add(variance, g.scalar(epsilon, x.dtype))))];
}

/** dy of a reduction with its reduced axes put back as size 1, ready to broadcast. */
function keptDims(g: GraphBuilder, n: NodeRecord, dy: Value): Value {
  if (intAttr(n, 'keepdims', 1) === 1) return dy;
  const axes = constInts(g, input(n, 1));
  return g.unsqueeze(dy, [...axes].sort((p, q) => p - q));
}

/** Ops whose outputs carry no gradient (comparisons, indices, shapes). */
export const NON_DIFFERENTIABLE = new Set(['Greater', 'Equal', 'Less', 'ArgMax', 'Shape', 'Size', 'Sign', 'Cast', 'ConstantOfShape']);
