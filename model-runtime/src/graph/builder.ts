/**
 * A small ONNX graph builder. Each method appends one ONNX node, infers the output's element
 * type and static shape (symbolic dimensions such as the batch 'B' pass through), and records
 * the node on a tape, so that autodiff.ts can walk the tape backwards and append the gradient
 * graph to the same builder. `toModel()` turns the whole thing into ONNX bytes.
 *
 * Opset 18: every reduction takes its axes as an input, ScatterND can accumulate ('add').
 */
import { broadcastShapes, formatShape, normalizeAxis, staticSize } from './shape.ts';
import type { Attribute, ConstantData, Dim, DType, NodeRecord, Shape, Value } from './types.ts';
import { isFloat } from './types.ts';

export const OPSET = 18;

/** A graph input or initializer. Initializers carry their data into the ONNX file. */
interface Declared {
  readonly value: Value;
  readonly data: ConstantData | null;
}

export class GraphBuilder {
  /** Nodes in creation order, which is a topological order. */
  readonly nodes: NodeRecord[] = [];
  private readonly inputs: Declared[] = [];
  private readonly initializers: Declared[] = [];
  private readonly outputs: Value[] = [];
  private readonly names: Set<string>;
  private readonly scalarCache = new Map<string, Value>();
  private counter = 0;
  /** The graph this one is a branch of (subgraph()), or null for the model's main graph. */
  private readonly parent: GraphBuilder | null;

  constructor(readonly name: string, parent: GraphBuilder | null = null) {
    this.parent = parent;
    // A branch claims names from its parent's set: ONNX wants every value name unique across the
    // model, subgraphs included, and a branch's fresh names must not shadow the outer graph's.
    this.names = parent === null ? new Set<string>() : parent.names;
  }

  // ---------------------------------------------------------------- declarations

  /** A graph input fed at every run. */
  input(name: string, dtype: DType, shape: Shape): Value {
    if (this.parent !== null) throw new Error(`graph ${this.name}: an If branch takes no inputs; use the value '${name}' of graph ${this.parent.name} directly (outer values are referenced by name)`);
    const value = { name: this.claim(name), dtype, shape };
    this.inputs.push({ value, data: null });
    return value;
  }

  /** A constant tensor stored in the model file (weights of an exported model, axes, scalars). */
  initializer(name: string, data: ConstantData): Value {
    const value = { name: this.claim(name), dtype: data.dtype, shape: data.dims };
    this.initializers.push({ value, data });
    return value;
  }

  /** A scalar constant of the given type, shared by every use. */
  scalar(v: number, dtype: DType): Value {
    const key = `${dtype}:${v}`;
    let value = this.scalarCache.get(key);
    if (value === undefined) {
      value = this.initializer(this.fresh(`const_${dtype}`), { dtype, dims: [], values: [v] });
      this.scalarCache.set(key, value);
    }
    return value;
  }

  /** A 1-D int64 constant (axes, shapes, slice bounds). */
  ints(values: readonly number[]): Value {
    const key = `ints:${values.join(',')}`;
    let value = this.scalarCache.get(key);
    if (value === undefined) {
      value = this.initializer(this.fresh('const_ints'), { dtype: 'int64', dims: [values.length], values });
      this.scalarCache.set(key, value);
    }
    return value;
  }

  /** Marks a value as a graph output, optionally under another name (via Identity). */
  output(value: Value, name?: string): Value {
    const out = name === undefined || name === value.name ? value : this.unary('Identity', value, {}, name);
    this.outputs.push(out);
    return out;
  }

  // ---------------------------------------------------------------- elementwise

  add(a: Value, b: Value): Value { return this.binary('Add', a, b); }
  sub(a: Value, b: Value): Value { return this.binary('Sub', a, b); }
  mul(a: Value, b: Value): Value { return this.binary('Mul', a, b); }
  div(a: Value, b: Value): Value { return this.binary('Div', a, b); }
  pow(a: Value, b: Value): Value { return this.binary('Pow', a, b); }
  neg(x: Value): Value { return this.unary('Neg', x); }
  exp(x: Value): Value { return this.unary('Exp', x); }
  log(x: Value): Value { return this.unary('Log', x); }
  sqrt(x: Value): Value { return this.unary('Sqrt', x); }
  abs(x: Value): Value { return this.unary('Abs', x); }
  sign(x: Value): Value { return this.unary('Sign', x); }
  relu(x: Value): Value { return this.unary('Relu', x); }
  sigmoid(x: Value): Value { return this.unary('Sigmoid', x); }
  tanh(x: Value): Value { return this.unary('Tanh', x); }
  identity(x: Value): Value { return this.unary('Identity', x); }

  min(a: Value, b: Value): Value { return this.binary('Min', a, b); }
  erf(x: Value): Value {
    // Caught here rather than as ONNX Runtime's "Could not find an implementation for Erf(13)".
    if (x.dtype === 'float64') throw new Error(`Erf: ONNX Runtime's CPU implements Erf for float32 only, got ${x.name} in float64`);
    return this.unary('Erf', x);
  }

  greater(a: Value, b: Value): Value { return this.binary('Greater', a, b, 'bool'); }
  less(a: Value, b: Value): Value { return this.binary('Less', a, b, 'bool'); }
  equal(a: Value, b: Value): Value { return this.binary('Equal', a, b, 'bool'); }

  and(a: Value, b: Value): Value {
    if (a.dtype !== 'bool' || b.dtype !== 'bool') throw new Error(`And: inputs must be bool, got ${a.dtype} and ${b.dtype}`);
    return this.binary('And', a, b, 'bool');
  }

  /** Bitwise AND / XOR of int64 tensors (the integer hash behind seeded dropout). */
  bitwiseAnd(a: Value, b: Value): Value { return this.integerBinary('BitwiseAnd', a, b); }
  bitwiseXor(a: Value, b: Value): Value { return this.integerBinary('BitwiseXor', a, b); }

  where(condition: Value, a: Value, b: Value): Value {
    if (condition.dtype !== 'bool') throw new Error(`Where: condition must be bool, got ${condition.dtype}`);
    this.checkSameType('Where', a, b);
    return this.node('Where', [condition, a, b], {}, a.dtype, broadcastShapes(condition.shape, a.shape, b.shape));
  }

  cast(x: Value, to: DType): Value {
    return this.node('Cast', [x], { to: { int: onnxTypeOf(to) } }, to, x.shape);
  }

  // ---------------------------------------------------------------- linear algebra

  /** Matrix product with numpy batching: (..., M, K) x (..., K, N) -> (..., M, N). */
  matmul(a: Value, b: Value): Value {
    this.checkSameType('MatMul', a, b);
    if (a.shape.length < 2 || b.shape.length < 2) {
      throw new Error(`MatMul: both inputs need rank >= 2 here, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
    }
    const [m, k1] = a.shape.slice(-2) as [Dim, Dim];
    const [k2, n] = b.shape.slice(-2) as [Dim, Dim];
    checkInner('MatMul', k1, k2, a, b);
    let batch: Shape;
    try {
      batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    } catch {
      throw new Error(`MatMul: batch dimensions of ${formatShape(a.shape)} and ${formatShape(b.shape)} do not broadcast (all but the last two axes must be equal or 1)`);
    }
    return this.node('MatMul', [a, b], {}, a.dtype, [...batch, m, n]);
  }

  /** Y = op(A) op(B) + C with op = transpose when asked; A, B are 2-D, C broadcasts to (M, N). */
  gemm(a: Value, b: Value, c: Value | null, options: { transA?: boolean; transB?: boolean } = {}): Value {
    this.checkSameType('Gemm', a, b);
    if (a.shape.length !== 2 || b.shape.length !== 2) {
      throw new Error(`Gemm: A and B must be 2-D, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
    }
    const transA = options.transA === true;
    const transB = options.transB === true;
    const [m, k1] = (transA ? [a.shape[1], a.shape[0]] : a.shape) as [Dim, Dim];
    const [k2, n] = (transB ? [b.shape[1], b.shape[0]] : b.shape) as [Dim, Dim];
    checkInner('Gemm', k1, k2, a, b);
    const attributes: Record<string, Attribute> = {};
    if (transA) attributes.transA = { int: 1 };
    if (transB) attributes.transB = { int: 1 };
    if (c !== null) broadcastShapes(c.shape, [m, n]);
    return this.node('Gemm', c === null ? [a, b] : [a, b, c], attributes, a.dtype, [m, n]);
  }

  // ---------------------------------------------------------------- transformer building blocks

  /**
   * Layer normalization over the last axis: (x - mean) / sqrt(var + epsilon) * scale + bias,
   * with the biased variance (as torch.nn.LayerNorm). scale and bias have the last axis's size.
   *
   * By default ONNX's fused LayerNormalization (opset 17), which ONNX Runtime's CPU runs in
   * float32 and float64 alike; its Mean and InvStdDev outputs are float32 (stash_type 1, the
   * only one the CPU kernel implements), and the gradient rule reuses them for float32 input.
   * `fused: false` composes the same formula from primitive ops (a reference for tests).
   */
  layerNorm(x: Value, scale: Value, bias: Value | null, options: { epsilon?: number; fused?: boolean } = {}): Value {
    const epsilon = options.epsilon ?? 1e-5;
    if (!isFloat(x.dtype)) throw new Error(`LayerNormalization: input ${x.name} must be float32 or float64, got ${x.dtype}`);
    const features = x.shape[x.shape.length - 1];
    if (features === undefined) throw new Error(`LayerNormalization: input ${x.name} must have rank >= 1, got a scalar`);
    for (const [role, v] of [['scale', scale], ['bias', bias]] as const) {
      if (v === null) continue;
      this.checkSameType('LayerNormalization', x, v);
      if (v.shape.length !== 1 || (typeof features === 'number' && typeof v.shape[0] === 'number' && v.shape[0] !== features)) {
        throw new Error(`LayerNormalization: ${role} ${v.name} must have shape (${features}) to match the last axis of ${formatShape(x.shape)}, got ${formatShape(v.shape)}`);
      }
    }
    if (options.fused === false) {
      const mean = this.reduceMean(x, [-1], true);
      const centered = this.sub(x, mean);
      const variance = this.reduceMean(this.mul(centered, centered), [-1], true);
      const normalized = this.div(centered, this.sqrt(this.add(variance, this.scalar(epsilon, x.dtype))));
      const scaled = this.mul(normalized, scale);
      return bias === null ? scaled : this.add(scaled, bias);
    }
    const statsShape = x.shape.map((d, i) => (i === x.shape.length - 1 ? 1 : d));
    const [y] = this.multiNode(
      'LayerNormalization',
      bias === null ? [x, scale] : [x, scale, bias],
      { axis: { int: -1 }, epsilon: { float: epsilon }, stash_type: { int: 1 } },
      [{ dtype: x.dtype, shape: x.shape }, { dtype: 'float32', shape: statsShape }, { dtype: 'float32', shape: statsShape }],
    );
    return y as Value;
  }

  /**
   * GELU. 'tanh' is the approximation GPT-2 and nanoGPT use,
   * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); 'erf' is the exact 0.5 x (1 + erf(x / sqrt 2)).
   * Composed from primitives (ONNX has Gelu only from opset 20), so autodiff derives its gradient.
   * Erf runs in float32 only on ONNX Runtime's CPU.
   */
  gelu(x: Value, approximate: 'tanh' | 'erf' = 'tanh'): Value {
    const c = (v: number): Value => this.scalar(v, x.dtype);
    // The tanh form is written (sqrt(2/pi) x) (1 + (0.044715 x) x), the same value, because that
    // is the subgraph ONNX Runtime's FastGeluFusion recognises: in an inference graph it becomes
    // one FastGelu kernel (and, with the bias Add before it, one BiasGelu), instead of eight
    // passes over the (B, T, 4C) activations.
    const inner =
      approximate === 'tanh'
        ? this.tanh(this.mul(this.add(this.mul(this.mul(x, c(0.044715)), x), c(1)), this.mul(c(Math.sqrt(2 / Math.PI)), x)))
        : this.erf(this.mul(x, c(Math.SQRT1_2)));
    return this.mul(this.add(inner, c(1)), this.mul(c(0.5), x));
  }

  /**
   * Causal attention mask for `size` positions: a bool (size, size) constant, true where key j
   * may be seen by query i (j <= i). Slice it for fewer positions.
   */
  causalMask(size: number): Value {
    if (!Number.isInteger(size) || size < 1) throw new Error(`causalMask: size must be a positive integer, got ${size}`);
    const values = Array.from({ length: size * size }, (_, k) => k % size <= Math.floor(k / size));
    return this.initializer(this.fresh(`causal_mask_${size}`), { dtype: 'bool', dims: [size, size], values });
  }

  /**
   * Padding mask from a Hugging Face style attention_mask (int64 (B, T), 1 = token, 0 = padding):
   * bool (B, 1, 1, T), true where the key is a real token; broadcasts over heads and queries.
   */
  paddingMask(attentionMask: Value): Value {
    if (attentionMask.dtype !== 'int64' || attentionMask.shape.length !== 2) {
      throw new Error(`paddingMask: attention_mask must be int64 (B, T), got ${attentionMask.dtype} ${formatShape(attentionMask.shape)}`);
    }
    return this.unsqueeze(this.equal(attentionMask, this.scalar(1, 'int64')), [1, 2]);
  }

  /**
   * Attention scores with masked positions replaced by a large negative number, for the Softmax
   * that follows: those positions get probability 0 and (through Where) exactly zero gradient.
   * Finite, not -inf, so a row with every key masked gives a uniform row instead of NaN.
   */
  maskScores(scores: Value, keep: Value, fill = -1e9): Value {
    if (keep.dtype !== 'bool') throw new Error(`maskScores: the mask must be bool (true = keep), got ${keep.dtype}`);
    const refuse = (): Error => new Error(`maskScores: mask ${formatShape(keep.shape)} must broadcast to the scores' shape ${formatShape(scores.shape)} without enlarging it`);
    let shape: Shape;
    try {
      shape = broadcastShapes(scores.shape, keep.shape);
    } catch {
      throw refuse();
    }
    if (shape.length !== scores.shape.length || shape.some((d, i) => typeof scores.shape[i] === 'number' && d !== scores.shape[i])) throw refuse();
    return this.where(keep, scores, this.scalar(fill, scores.dtype));
  }

  // ---------------------------------------------------------------- reductions and softmax

  reduceSum(x: Value, axes: readonly number[], keepdims: boolean): Value {
    return this.reduce('ReduceSum', x, axes, keepdims);
  }

  reduceMean(x: Value, axes: readonly number[], keepdims: boolean): Value {
    return this.reduce('ReduceMean', x, axes, keepdims);
  }

  softmax(x: Value, axis: number): Value {
    return this.node('Softmax', [x], { axis: { int: normalizeAxis(axis, x.shape.length, 'Softmax') } }, x.dtype, x.shape);
  }

  logSoftmax(x: Value, axis: number): Value {
    return this.node('LogSoftmax', [x], { axis: { int: normalizeAxis(axis, x.shape.length, 'LogSoftmax') } }, x.dtype, x.shape);
  }

  /** Index of the largest value along `axis`, that axis dropped: int64. */
  argMax(x: Value, axis: number): Value {
    const a = normalizeAxis(axis, x.shape.length, 'ArgMax');
    return this.node('ArgMax', [x], { axis: { int: a }, keepdims: { int: 0 } }, 'int64', x.shape.filter((_, i) => i !== a));
  }

  // ---------------------------------------------------------------- shape ops

  /**
   * Reshape to `shape`. A number is a fixed size, -1 is inferred, and a symbol must be the
   * input's own dimension at the same position (sent to ONNX as 0, "copy").
   */
  reshape(x: Value, shape: Shape): Value {
    const sent = shape.map((d, i) => {
      if (typeof d === 'number') return d;
      if (x.shape[i] !== d) throw new Error(`Reshape: symbolic dimension '${d}' must sit where the input has it; input is ${formatShape(x.shape)}`);
      return 0;
    });
    const out: Dim[] = [...shape];
    const inferred = out.indexOf(-1);
    if (inferred >= 0) {
      const total = staticSize(x.shape);
      const rest = staticSize(out.filter((_, i) => i !== inferred));
      out[inferred] = total !== null && rest !== null ? total / rest : '?';
    }
    return this.node('Reshape', [x, this.ints(sent)], {}, x.dtype, out);
  }

  /** Reshape to another value's run-time shape (used by gradients). */
  reshapeLike(x: Value, like: Value): Value {
    return this.node('Reshape', [x, this.shapeOf(like)], {}, x.dtype, like.shape);
  }

  transpose(x: Value, perm: readonly number[]): Value {
    if (perm.length !== x.shape.length || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
      throw new Error(`Transpose: perm [${perm.join(', ')}] is not a permutation of the ${x.shape.length} axes of ${formatShape(x.shape)}`);
    }
    return this.node('Transpose', [x], { perm: { ints: perm } }, x.dtype, perm.map((p) => x.shape[p] as Dim));
  }

  unsqueeze(x: Value, axes: readonly number[]): Value {
    const rank = x.shape.length + axes.length;
    const normalized = axes.map((a) => normalizeAxis(a, rank, 'Unsqueeze'));
    const out: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) out.push(normalized.includes(i) ? 1 : (x.shape[j++] as Dim));
    return this.node('Unsqueeze', [x, this.ints(normalized)], {}, x.dtype, out);
  }

  squeeze(x: Value, axes: readonly number[]): Value {
    const normalized = axes.map((a) => normalizeAxis(a, x.shape.length, 'Squeeze'));
    for (const a of normalized) {
      if (x.shape[a] !== 1) throw new Error(`Squeeze: axis ${a} of ${formatShape(x.shape)} is not 1`);
    }
    return this.node('Squeeze', [x, this.ints(normalized)], {}, x.dtype, x.shape.filter((_, i) => !normalized.includes(i)));
  }

  concat(values: readonly Value[], axis: number): Value {
    const first = values[0];
    if (first === undefined) throw new Error('Concat: needs at least one input');
    const a = normalizeAxis(axis, first.shape.length, 'Concat');
    let size: Dim = 0;
    for (const v of values) {
      this.checkSameType('Concat', first, v);
      const d = v.shape[a] as Dim;
      size = typeof size === 'number' && typeof d === 'number' ? size + d : '?';
    }
    return this.node('Concat', values, { axis: { int: a } }, first.dtype, first.shape.map((d, i) => (i === a ? size : d)));
  }

  /** x[starts:ends] along `axes`, step 1. Bounds are clamped like numpy; negative counts from the end. */
  slice(x: Value, starts: readonly number[], ends: readonly number[], axes: readonly number[]): Value {
    const out: Dim[] = [...x.shape];
    axes.forEach((axis, i) => {
      const a = normalizeAxis(axis, x.shape.length, 'Slice');
      const dim = x.shape[a];
      if (typeof dim !== 'number') {
        out[a] = '?';
        return;
      }
      const [s, e] = clampSlice(starts[i] as number, ends[i] as number, dim);
      out[a] = Math.max(0, e - s);
    });
    return this.node('Slice', [x, this.ints(starts), this.ints(ends), this.ints(axes)], {}, x.dtype, out);
  }

  /** Rows of `data` picked by integer `indices` along `axis` (an embedding lookup for axis 0). */
  gather(data: Value, indices: Value, axis = 0): Value {
    if (indices.dtype !== 'int64') throw new Error(`Gather: indices must be int64, got ${indices.dtype}`);
    const a = normalizeAxis(axis, data.shape.length, 'Gather');
    const out = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
    return this.node('Gather', [data, indices], { axis: { int: a } }, data.dtype, out);
  }

  /** Collapses `x` to 2-D: the axes before `axis` times the rest (a matrix for Gemm). */
  flatten(x: Value, axis: number): Value {
    const a = axis === x.shape.length ? axis : normalizeAxis(axis, x.shape.length, 'Flatten');
    const rows = staticSize(x.shape.slice(0, a));
    const cols = staticSize(x.shape.slice(a));
    return this.node('Flatten', [x], { axis: { int: a } }, x.dtype, [rows ?? '?', cols ?? '?']);
  }

  /** 0, 1, ..., limit - 1 as int64; `limit` is an int64 scalar value. */
  range(limit: Value): Value {
    if (limit.dtype !== 'int64' || limit.shape.length !== 0) throw new Error(`Range: limit must be an int64 scalar, got ${limit.dtype} ${formatShape(limit.shape)}`);
    return this.node('Range', [this.scalar(0, 'int64'), limit, this.scalar(1, 'int64')], {}, 'int64', ['?']);
  }

  /** Number of elements of `x` at run time, as an int64 scalar. */
  sizeOfInt(x: Value): Value {
    return this.node('Size', [x], {}, 'int64', []);
  }

  /** Zero-pads `x` (constant mode); pads = [begin_0, ..., begin_n, end_0, ..., end_n]. */
  pad(x: Value, pads: readonly number[]): Value {
    const rank = x.shape.length;
    const out = x.shape.map((d, i) => (typeof d === 'number' ? d + (pads[i] as number) + (pads[i + rank] as number) : d));
    return this.node('Pad', [x, this.ints(pads)], {}, x.dtype, out);
  }

  /** The run-time shape of `x` as int64 (1-D). */
  shapeOf(x: Value): Value {
    return this.node('Shape', [x], {}, 'int64', [x.shape.length]);
  }

  /** Broadcasts `x` to the run-time shape of `like`. */
  expandLike(x: Value, like: Value): Value {
    return this.node('Expand', [x, this.shapeOf(like)], {}, x.dtype, like.shape);
  }

  /** Zeros with the run-time shape of `like`. */
  zerosLike(like: Value): Value {
    return this.node('ConstantOfShape', [this.shapeOf(like)], { value: { tensor: { dtype: like.dtype, dims: [1], values: [0] } } }, like.dtype, like.shape);
  }

  /** Number of elements of `x` at run time, as a scalar of `dtype`. */
  sizeOf(x: Value, dtype: DType): Value {
    return this.cast(this.sizeOfInt(x), dtype);
  }

  /** data with `updates` added at `indices` (last axis of indices indexes data's leading axes). */
  scatterAdd(data: Value, indices: Value, updates: Value): Value {
    return this.node('ScatterND', [data, indices, updates], { reduction: { string: 'add' } }, data.dtype, data.shape);
  }

  // ---------------------------------------------------------------- control flow

  /**
   * A branch for `ifElse`: an empty graph whose nodes may use any value of this graph (and of the
   * graphs around it) by name, as ONNX subgraphs do. Build its nodes, mark what it yields with
   * `output(value)` (no name: the If's own outputs carry the names), then hand it to `ifElse`.
   */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(this.fresh(name), this);
  }

  /**
   * ONNX If: runs `thenBranch` when the one-element bool `condition` is true, else `elseBranch`,
   * and returns the chosen branch's outputs. The branches must yield as many outputs, of the same
   * element types and ranks; a dimension the two disagree on (or leave symbolic differently) is
   * '?' here, as ONNX Runtime resolves it per run. `names` names the If's outputs (graph outputs
   * such as logits), else fresh names are used.
   *
   * Inference only: autodiff.ts refuses a graph with an If (a branch's reads of outer values are
   * not node inputs, so the tape could not see what the gradient would flow through).
   */
  ifElse(condition: Value, thenBranch: GraphBuilder, elseBranch: GraphBuilder, names?: readonly string[]): Value[] {
    if (condition.dtype !== 'bool' || staticSize(condition.shape) !== 1) {
      throw new Error(`If: condition ${condition.name} must be a bool tensor of one element, got ${condition.dtype} ${formatShape(condition.shape)}`);
    }
    for (const branch of [thenBranch, elseBranch]) {
      if (branch.parent !== this) throw new Error(`If: branch ${branch.name} was not made by subgraph() of graph ${this.name}`);
      if (branch.outputs.length === 0) throw new Error(`If: branch ${branch.name} has no outputs; mark what it yields with output()`);
    }
    const thenOut = thenBranch.outputs;
    const elseOut = elseBranch.outputs;
    if (thenOut.length !== elseOut.length) throw new Error(`If: then_branch ${thenBranch.name} yields ${thenOut.length} outputs, else_branch ${elseBranch.name} ${elseOut.length}; they must yield as many`);
    if (names !== undefined && names.length !== thenOut.length) throw new Error(`If: ${names.length} output names for ${thenOut.length} branch outputs`);
    const outputs = thenOut.map((t, k) => {
      const e = elseOut[k] as Value;
      if (t.dtype !== e.dtype || t.shape.length !== e.shape.length) {
        throw new Error(`If: output ${k} is ${t.dtype} ${formatShape(t.shape)} in then_branch but ${e.dtype} ${formatShape(e.shape)} in else_branch; element type and rank must agree`);
      }
      const shape = t.shape.map((d, i) => (d === e.shape[i] ? d : '?'));
      return { name: names === undefined ? this.fresh('if') : this.claim(names[k] as string), dtype: t.dtype, shape };
    });
    this.nodes.push({ op: 'If', inputs: [condition], outputs, attributes: { then_branch: { graph: thenBranch }, else_branch: { graph: elseBranch } } });
    return outputs;
  }

  // ---------------------------------------------------------------- plumbing

  /** A name not used yet in this graph, derived from `base`. */
  fresh(base: string): string {
    let name: string;
    do name = `${base}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  /** Appends a node with one output. Exposed for ops the builder has no method for. */
  node(op: string, inputs: readonly (Value | null)[], attributes: Readonly<Record<string, Attribute>>, dtype: DType, shape: Shape, name?: string): Value {
    const output = { name: name === undefined ? this.fresh(op.toLowerCase()) : this.claim(name), dtype, shape };
    this.nodes.push({ op, inputs, outputs: [output], attributes });
    return output;
  }

  /**
   * Differentiates the node that computed `value` by the gradient rule `rule` (a key of
   * GRADIENT_RULES) instead of its op's rule; the ONNX node itself is unchanged.
   */
  differentiateBy(value: Value, rule: string): void {
    const index = this.nodes.findIndex((n) => n.outputs.includes(value));
    if (index < 0) throw new Error(`differentiateBy: no node of graph ${this.name} computes ${value.name}`);
    this.nodes[index] = { ...this.nodes[index]!, gradient: rule };
  }

  /** Appends a node with several outputs (LayerNormalization's Y, Mean, InvStdDev). */
  multiNode(op: string, inputs: readonly (Value | null)[], attributes: Readonly<Record<string, Attribute>>, outputs: readonly { dtype: DType; shape: Shape }[]): Value[] {
    const values = outputs.map((o) => ({ name: this.fresh(op.toLowerCase()), dtype: o.dtype, shape: o.shape }));
    this.nodes.push({ op, inputs, outputs: values, attributes });
    return values;
  }

  get declaredInputs(): readonly Value[] { return this.inputs.map((d) => d.value); }
  get declaredOutputs(): readonly Value[] { return this.outputs; }
  get declaredInitializers(): readonly { readonly value: Value; readonly data: ConstantData | null }[] { return this.initializers; }

  private unary(op: string, x: Value, attributes: Readonly<Record<string, Attribute>> = {}, name?: string): Value {
    if (op !== 'Identity' && op !== 'Neg' && op !== 'Abs' && op !== 'Sign' && !isFloat(x.dtype)) {
      throw new Error(`${op}: input ${x.name} must be float32 or float64, got ${x.dtype}`);
    }
    return this.node(op, [x], attributes, x.dtype, x.shape, name);
  }

  private binary(op: string, a: Value, b: Value, dtype?: DType): Value {
    this.checkSameType(op, a, b);
    return this.node(op, [a, b], {}, dtype ?? a.dtype, broadcastShapes(a.shape, b.shape));
  }

  private integerBinary(op: string, a: Value, b: Value): Value {
    if (a.dtype !== 'int64' || b.dtype !== 'int64') throw new Error(`${op}: inputs must be int64, got ${a.dtype} and ${b.dtype}`);
    return this.binary(op, a, b);
  }

  private reduce(op: string, x: Value, axes: readonly number[], keepdims: boolean): Value {
    const normalized = axes.map((a) => normalizeAxis(a, x.shape.length, op));
    const out = keepdims ? x.shape.map((d, i) => (normalized.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !normalized.includes(i));
    return this.node(op, [x, this.ints(normalized)], { keepdims: { int: keepdims ? 1 : 0 } }, x.dtype, out);
  }

  private checkSameType(op: string, a: Value, b: Value): void {
    if (a.dtype !== b.dtype) throw new Error(`${op}: inputs ${a.name} (${a.dtype}) and ${b.name} (${b.dtype}) must have the same element type`);
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph ${this.name}: the name '${name}' is already used`);
    this.names.add(name);
    return name;
  }
}

function checkInner(op: string, k1: Dim, k2: Dim, a: Value, b: Value): void {
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    throw new Error(`${op}: inner dimensions differ (${k1} vs ${k2}) for ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
}

/** numpy-style clamping of slice bounds to [0, dim]. */
export function clampSlice(start: number, end: number, dim: number): [number, number] {
  const clamp = (v: number): number => Math.min(dim, Math.max(0, v < 0 ? v + dim : v));
  return [clamp(start), clamp(end)];
}

/** ONNX TensorProto.DataType code of an element type. */
export function onnxTypeOf(dtype: DType): number {
  switch (dtype) {
    case 'float32': return 1;
    case 'int64': return 7;
    case 'bool': return 9;
    case 'float64': return 11;
  }
}
