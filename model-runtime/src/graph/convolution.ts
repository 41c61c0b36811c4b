/**
 * The convolutional layers of a CNN over NCHW tensors: 2-D convolution (stride, padding,
 * dilation, groups), max and average pooling, global average pooling and batch normalization,
 * each appended as ONNX Runtime's own kernel (MLAS for Conv) with a gradient rule
 * (CONVOLUTION_GRADIENT_RULES, merged into gradients.ts) built from ONNX ops as well:
 *
 *   Conv         stride 1, one group (a CNN's usual layer): dX = Conv(dY, W flipped, its axes O and C
 *                swapped) with the complementary padding, and dW = one GEMM of dY against the k x k
 *                shifted copies of the padded X (im2col built from Slices, channels-first): both are ONNX Runtime's
 *                fastest paths (im2col + MLAS GEMM), 2-3x faster here than the general forms below.
 *                Otherwise dX = ConvTranspose(dY, W) with the forward's stride, pads, dilation,
 *                groups and the output padding that gives back X's size; dW = a Conv of X over dY
 *                with stride and dilation swapped (the batch axis becomes the channel axis it sums
 *                over), per group. db = sum of dY over N, H, W.
 *   MaxPool      square windows without overlap or padding (kernel = stride, as CNNs pool): dY goes to
 *                the positions equal to their window's maximum (a tie shares it; after a ReLU the
 *                only common tie is a window of zeros, whose gradient the ReLU then discards), and
 *                the forward runs without the Indices output, which sends ONNX Runtime's MaxPool
 *                down a much slower path. Otherwise dY is scattered (ScatterND add) to the
 *                positions MaxPool's Indices output names.
 *   AveragePool  dY divided by each window's element count, spread back by a ConvTranspose with a
 *                ones kernel, one group per channel.
 *   GlobalAveragePool  dY / (H W) broadcast over each channel's plane.
 *   BatchNormalization (training): the batch's mean and variance by reductions, fed to ONNX Runtime's
 *                BatchNormalization kernel (one pass), whose gradient rule (BATCH_STATISTICS_NORMALIZATION)
 *                knows those inputs are its own input's statistics: dX = scale invstd (dY - mean(dY) -
 *                x^ mean(dY x^)) in per-channel affine passes, rather than autodiff through each reduction
 *                (which made bench/cnn's 64x64x3 step 1.66x as long with batch normalisation as without;
 *                this, 1.37x; PyTorch's, 1.25x). The running statistics are outputs, not parameters.
 *
 * ONNX Runtime's CPU implements Conv, ConvTranspose and AveragePool for float32 only, so these
 * refuse float64 at build time (as Erf does) and their gradient checks run in float32: the ops
 * are linear (or piecewise linear), so central differences with a large step are exact up to
 * rounding.
 */
import type { GraphBuilder } from './builder.ts';
import { formatShape } from './shape.ts';
import type { Attribute, Dim, NodeRecord, Value } from './types.ts';

/** A pair of per-axis numbers (height, width), or one number for both. */
export type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  /** @default 1 */
  readonly stride?: Pair;
  /** Zeros added on each side: one number, (top/bottom, left/right), or 'same' (stride 1 only). @default 0 */
  readonly padding?: Pair | 'same';
  /** @default 1 */
  readonly dilation?: Pair;
  /** Input and output channels split into this many independent groups (C and O divide by it). @default 1 */
  readonly groups?: number;
}

export interface Pool2dOptions {
  /** @default the kernel size (non-overlapping windows, as torch.nn.MaxPool2d) */
  readonly stride?: Pair;
  /** @default 0 */
  readonly padding?: Pair;
}

const pair = (p: Pair): [number, number] => (typeof p === 'number' ? [p, p] : [p[0], p[1]]);

function checkPositive(what: string, values: readonly number[], min: number): void {
  for (const v of values) if (!Number.isInteger(v) || v < min) throw new Error(`${what} must be whole numbers >= ${min}, got ${values.join(', ')}`);
}

function checkFloat32(op: string, x: Value): void {
  if (x.dtype !== 'float32') throw new Error(`${op}: ONNX Runtime's CPU implements ${op} for float32 only, got ${x.name} in ${x.dtype}`);
}

function checkNchw(op: string, x: Value): [Dim, Dim, number, number] {
  const [n, c, h, w] = x.shape;
  if (x.shape.length !== 4 || typeof h !== 'number' || typeof w !== 'number' || c === undefined || n === undefined) {
    throw new Error(`${op}: input ${x.name} must be (N, C, H, W) with a fixed height and width, got ${formatShape(x.shape)}`);
  }
  return [n, c, h, w];
}

/** Output length of a window of `kernel` (dilated) sliding over `size` plus padding. */
function slidingLength(op: string, size: number, kernel: number, stride: number, padBegin: number, padEnd: number, dilation: number): number {
  const out = Math.floor((size + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride) + 1;
  if (out < 1) throw new Error(`${op}: a kernel of ${kernel} (dilation ${dilation}) does not fit an input of ${size} with padding ${padBegin}+${padEnd}`);
  return out;
}

/** ONNX `pads` for symmetric padding: [top, left, bottom, right]. */
function onnxPads(op: string, padding: Pair): [number, number, number, number] {
  const [ph, pw] = pair(padding);
  checkPositive(`${op}: padding`, [ph, pw], 0);
  return [ph, pw, ph, pw];
}

/**
 * x (N, C, H, W) * weight (O, C / groups, kH, kW) + bias (O) -> (N, O, H', W'), as
 * torch.nn.functional.conv2d.
 */
export function conv2d(g: GraphBuilder, x: Value, weight: Value, bias: Value | null, options: Conv2dOptions = {}): Value {
  checkFloat32('Conv', x);
  const [n, c, h, w] = checkNchw('Conv', x);
  const groups = options.groups ?? 1;
  checkPositive('Conv: groups', [groups], 1);
  const [o, perGroup, kh, kw] = weight.shape;
  if (weight.shape.length !== 4 || [o, perGroup, kh, kw].some((d) => typeof d !== 'number')) {
    throw new Error(`Conv: weight ${weight.name} must be (O, C / groups, kH, kW) with fixed sizes, got ${formatShape(weight.shape)}`);
  }
  const out = o as number;
  if (typeof c === 'number' && (c % groups !== 0 || perGroup !== c / groups)) {
    throw new Error(`Conv: input has ${c} channels, so with groups ${groups} the weight's second axis must be ${c / groups}, got ${formatShape(weight.shape)}`);
  }
  if (out % groups !== 0) throw new Error(`Conv: output channels (${out}) must divide by groups (${groups})`);
  if (bias !== null && (bias.shape.length !== 1 || bias.shape[0] !== out)) {
    throw new Error(`Conv: bias ${bias.name} must have shape (${out}), got ${formatShape(bias.shape)}`);
  }
  const stride = pair(options.stride ?? 1);
  const dilation = pair(options.dilation ?? 1);
  checkPositive('Conv: stride', stride, 1);
  checkPositive('Conv: dilation', dilation, 1);
  const kernel: [number, number] = [kh as number, kw as number];
  let pads: [number, number, number, number];
  if (options.padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) throw new Error(`Conv: padding 'same' needs stride 1, got ${stride.join(', ')}`);
    // torch's 'same': the extra row or column of an even kernel goes at the end.
    const total = kernel.map((k, i) => dilation[i]! * (k - 1));
    pads = [Math.floor(total[0]! / 2), Math.floor(total[1]! / 2), Math.ceil(total[0]! / 2), Math.ceil(total[1]! / 2)];
  } else {
    pads = onnxPads('Conv', options.padding ?? 0);
  }
  const ho = slidingLength('Conv', h, kernel[0], stride[0], pads[0], pads[2], dilation[0]);
  const wo = slidingLength('Conv', w, kernel[1], stride[1], pads[1], pads[3], dilation[1]);
  const attributes: Record<string, Attribute> = {
    kernel_shape: { ints: kernel },
    strides: { ints: stride },
    pads: { ints: pads },
    dilations: { ints: dilation },
    group: { int: groups },
  };
  return g.node('Conv', bias === null ? [x, weight] : [x, weight, bias], attributes, x.dtype, [n, out, ho, wo]);
}

/** Max over each window: (N, C, H, W) -> (N, C, H', W'), as torch.nn.functional.max_pool2d. */
export function maxPool2d(g: GraphBuilder, x: Value, kernelSize: Pair, options: Pool2dOptions = {}): Value {
  const { attributes, shape } = poolAttributes('MaxPool', x, kernelSize, options);
  if (tiles(attributes)) return g.node('MaxPool', [x], attributes, x.dtype, shape);
  // The second output, Indices, is what the gradient rule scatters into.
  const [y] = g.multiNode('MaxPool', [x], attributes, [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }]);
  return y!;
}

/**
 * Mean over each window: (N, C, H, W) -> (N, C, H', W'). Padded positions are not counted
 * (ONNX's count_include_pad 0; torch's count_include_pad=False).
 */
export function averagePool2d(g: GraphBuilder, x: Value, kernelSize: Pair, options: Pool2dOptions = {}): Value {
  checkFloat32('AveragePool', x);
  const { attributes, shape } = poolAttributes('AveragePool', x, kernelSize, options);
  return g.node('AveragePool', [x], { ...attributes, count_include_pad: { int: 0 } }, x.dtype, shape);
}

/** The mean of each channel's plane: (N, C, H, W) -> (N, C, 1, 1). */
export function globalAveragePool(g: GraphBuilder, x: Value): Value {
  checkFloat32('GlobalAveragePool', x);
  const [n, c] = checkNchw('GlobalAveragePool', x);
  return g.node('GlobalAveragePool', [x], {}, x.dtype, [n, c, 1, 1]);
}

function poolAttributes(op: string, x: Value, kernelSize: Pair, options: Pool2dOptions): { attributes: Record<string, Attribute>; shape: Dim[] } {
  const [n, c, h, w] = checkNchw(op, x);
  const kernel = pair(kernelSize);
  checkPositive(`${op}: kernel size`, kernel, 1);
  const stride = pair(options.stride ?? kernel);
  checkPositive(`${op}: stride`, stride, 1);
  const pads = onnxPads(op, options.padding ?? 0);
  // As torch: a wider pad would make windows of padding only.
  if (pads[0] > kernel[0] / 2 || pads[1] > kernel[1] / 2) {
    throw new Error(`${op}: padding (${pads[0]}, ${pads[1]}) must be at most half the kernel (${kernel.join(', ')})`);
  }
  const ho = slidingLength(op, h, kernel[0], stride[0], pads[0], pads[2], 1);
  const wo = slidingLength(op, w, kernel[1], stride[1], pads[1], pads[3], 1);
  return { attributes: { kernel_shape: { ints: kernel }, strides: { ints: stride }, pads: { ints: pads } }, shape: [n, c, ho, wo] };
}

/** Square windows that tile the input: kernel = stride, no padding. */
function tiles(attributes: Readonly<Record<string, Attribute>>): boolean {
  const get = (name: string): readonly number[] => {
    const a = attributes[name];
    return a !== undefined && 'ints' in a ? a.ints : [];
  };
  const [kernel, strides, pads] = [get('kernel_shape'), get('strides'), get('pads')];
  return kernel[0] === kernel[1] && kernel.every((k, i) => k === strides[i]) && pads.every((p) => p === 0);
}

export interface BatchNormOptions {
  /** @default 1e-5 */
  readonly epsilon?: number;
  /** Weight of the new batch's statistics in the running ones (torch's momentum). @default 0.1 */
  readonly momentum?: number;
}

/**
 * The GRADIENT_RULES key of a BatchNormalization node whose mean and variance inputs are its own
 * input's batch statistics (batchNormTraining's): its rule differentiates through them.
 */
export const BATCH_STATISTICS_NORMALIZATION = 'BatchNormalization over its batch';

/**
 * Batch normalization in training mode over (N, C, H, W) or (N, C): normalise each channel
 * with the batch's mean and biased variance, scale and shift, as torch.nn.BatchNorm2d.train().
 * Returns the output and the updated running statistics (running variance from the unbiased
 * batch variance, as torch keeps it), which the training step outputs beside the parameters.
 */
export function batchNormTraining(
  g: GraphBuilder,
  x: Value,
  scale: Value,
  bias: Value,
  running: { readonly mean: Value; readonly variance: Value },
  options: BatchNormOptions = {},
): { output: Value; runningMean: Value; runningVariance: Value } {
  const epsilon = options.epsilon ?? 1e-5;
  const momentum = options.momentum ?? 0.1;
  const axes = x.shape.length === 4 ? [0, 2, 3] : [0];
  const channels = x.shape[1];
  if ((x.shape.length !== 4 && x.shape.length !== 2) || typeof channels !== 'number') {
    throw new Error(`BatchNormalization: input ${x.name} must be (N, C, H, W) or (N, C) with a fixed C, got ${formatShape(x.shape)}`);
  }
  const c = (v: number): Value => g.scalar(v, x.dtype);
  const mean = g.reduceMean(x, axes, false); // (C)
  const centred = g.sub(x, x.shape.length === 4 ? g.reshape(mean, [1, channels, 1, 1]) : g.reshape(mean, [1, channels])); // like x
  const count = valuesPerChannel(g, x, channels); // m = N H W
  const variance = g.div(g.node('ReduceSumSquare', [centred, g.ints(axes)], { keepdims: { int: 0 } }, x.dtype, [channels]), count); // biased, (C)
  const output = batchNormInference(g, x, scale, bias, mean, variance, epsilon);
  g.differentiateBy(output, BATCH_STATISTICS_NORMALIZATION);
  // Unbiased variance for the running estimate: m / (m - 1).
  const unbiased = g.mul(variance, g.div(count, g.sub(count, c(1))));
  const blend = (old: Value, fresh: Value): Value => g.add(g.mul(old, c(1 - momentum)), g.mul(fresh, c(momentum)));
  return { output, runningMean: blend(running.mean, mean), runningVariance: blend(running.variance, unbiased) };
}

/** The number of values each channel of (N, C, ...) holds, N times the rest, as a scalar of x's type. */
function valuesPerChannel(g: GraphBuilder, x: Value, channels: number): Value {
  return g.div(g.sizeOf(x, x.dtype), g.scalar(channels, x.dtype));
}

/**
 * dX, dscale and dbias of batchNormTraining's BatchNormalization (inputs x, scale, bias, and the
 * batch mean and biased variance of x), with x^ = (x - mean) invstd:
 *
 *   dbias = sum dY,  dscale = sum dY x^,  dX = scale invstd (dY - dbias / m - x^ dscale / m)
 *
 * which holds the mean's and variance's own dependence on x, so they get no gradient. dX is two
 * per-channel affine maps (ONNX Runtime's BatchNormalization kernel with mean 0, variance 1,
 * epsilon 0: exactly v a + b, one vectorised pass each) and a sum.
 */
function batchStatisticsNormalizationGradient(g: GraphBuilder, n: NodeRecord, dy: Value, wants: readonly boolean[]): (Value | null)[] {
  const [x, scale, , mean, variance] = n.inputs as Value[];
  const channels = x!.shape[1] as number;
  const axes = x!.shape.length === 4 ? [0, 2, 3] : [0];
  // An ONNX float attribute is float32: the epsilon the forward kernel saw.
  const epsilon = Math.fround(n.attributes.epsilon !== undefined && 'float' in n.attributes.epsilon ? n.attributes.epsilon.float : 1e-5);
  const c = (v: number): Value => g.scalar(v, dy.dtype);
  const vector = (fill: number): Value => g.initializer(g.fresh('batch_norm_grad_constant'), { dtype: dy.dtype, dims: [channels], values: new Array<number>(channels).fill(fill) });
  const [zeros, ones] = [vector(0), vector(1)];
  const affine = (v: Value, a: Value, b: Value): Value => batchNormInference(g, v, a, b, zeros, ones, 0); // v a + b per channel
  const dBias = g.reduceSum(dy, axes, false); // (C)
  const normalized = batchNormInference(g, x!, ones, zeros, mean!, variance!, epsilon); // x^, like x
  const dScale = g.reduceSum(g.mul(dy, normalized), axes, false); // (C)
  const gradX = (): Value => {
    const count = valuesPerChannel(g, x!, channels);
    const a = g.div(scale!, g.sqrt(g.add(variance!, c(epsilon)))); // scale invstd, (C)
    const shift = g.neg(g.div(g.mul(a, dBias), count)); // (C)
    const slope = g.neg(g.div(g.mul(a, dScale), count)); // (C)
    return g.add(affine(dy, a, shift), affine(normalized, slope, zeros)); // like x
  };
  return [wants[0] === true ? gradX() : null, wants[1] === true ? dScale : null, wants[2] === true ? dBias : null, null, null];
}

/** Batch normalization with fixed statistics (evaluation and the served model): ONNX's own kernel. */
export function batchNormInference(g: GraphBuilder, x: Value, scale: Value, bias: Value, mean: Value, variance: Value, epsilon = 1e-5): Value {
  return g.node('BatchNormalization', [x, scale, bias, mean, variance], { epsilon: { float: epsilon } }, x.dtype, x.shape);
}

// ---------------------------------------------------------------- gradient rules

type Rule = (g: GraphBuilder, node: NodeRecord, dy: Value, wants: readonly boolean[]) => (Value | null)[];

const ints = (node: NodeRecord, name: string): number[] => {
  const a = node.attributes[name];
  if (a === undefined || !('ints' in a)) throw new Error(`${node.op}: attribute ${name} is missing`);
  return [...a.ints];
};
const int = (node: NodeRecord, name: string, fallback: number): number => {
  const a = node.attributes[name];
  return a !== undefined && 'int' in a ? a.int : fallback;
};

/**
 * ConvTranspose of dy (N, O, H', W') by a (O, C / groups, kH, kW) kernel back to (N, C, H, W):
 * output_padding supplies the rows and columns a strided forward never reached.
 */
function transposeConv(g: GraphBuilder, dy: Value, kernel: Value, like: Value, node: NodeRecord, groups: number): Value {
  const [kh, kw] = [kernel.shape[2] as number, kernel.shape[3] as number];
  const [sh, sw] = ints(node, 'strides');
  const pads = ints(node, 'pads');
  const [dh, dw] = node.attributes.dilations === undefined ? [1, 1] : ints(node, 'dilations');
  const [h, w] = [like.shape[2] as number, like.shape[3] as number];
  const [ho, wo] = [dy.shape[2] as number, dy.shape[3] as number];
  const reach = (out: number, s: number, k: number, d: number, begin: number, end: number): number => s * (out - 1) + d * (k - 1) + 1 - begin - end;
  const outputPadding = [h - reach(ho, sh!, kh, dh!, pads[0]!, pads[2]!), w - reach(wo, sw!, kw, dw!, pads[1]!, pads[3]!)];
  return g.node(
    'ConvTranspose',
    [dy, kernel],
    {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: [sh!, sw!] },
      pads: { ints: pads },
      dilations: { ints: [dh!, dw!] },
      group: { int: groups },
      output_padding: { ints: outputPadding },
    },
    dy.dtype,
    like.shape,
  );
}

/** dW for one group: sum over n, i, j of dY[n, o, i, j] * X_padded[n, c, i s + a d, j s + b d]. */
function convWeightGradient(g: GraphBuilder, x: Value, dy: Value, node: NodeRecord, kernel: readonly [number, number]): Value {
  const strides = ints(node, 'strides');
  const dilations = node.attributes.dilations === undefined ? [1, 1] : ints(node, 'dilations');
  const pads = ints(node, 'pads');
  const xt = g.transpose(x, [1, 0, 2, 3]); // (C, N, H, W): the channels become the batch
  const dyt = g.transpose(dy, [1, 0, 2, 3]); // (O, N, H', W'): the kernel, summing over N
  const [h, w] = [x.shape[2] as number, x.shape[3] as number];
  const [ho, wo] = [dy.shape[2] as number, dy.shape[3] as number];
  // Stride and dilation swap roles: the forward's stride spaces dY's taps, its dilation the outputs.
  const span = (size: number, out: number, s: number, d: number, begin: number, end: number): number => Math.floor((size + begin + end - s * (out - 1) - 1) / d) + 1;
  const full = [span(h, ho, strides[0]!, dilations[0]!, pads[0]!, pads[2]!), span(w, wo, strides[1]!, dilations[1]!, pads[1]!, pads[3]!)];
  let grad = g.node(
    'Conv',
    [xt, dyt],
    { kernel_shape: { ints: [ho, wo] }, strides: { ints: dilations }, dilations: { ints: strides }, pads: { ints: pads }, group: { int: 1 } },
    x.dtype,
    [x.shape[1]!, dy.shape[1]!, full[0]!, full[1]!],
  ); // (C, O, >= kH, >= kW)
  if (full[0] !== kernel[0] || full[1] !== kernel[1]) grad = g.slice(grad, [0, 0], [kernel[0], kernel[1]], [2, 3]);
  return g.transpose(grad, [1, 0, 2, 3]); // (O, C, kH, kW)
}

export const CONVOLUTION_GRADIENT_RULES: Readonly<Record<string, Rule>> = {
  [BATCH_STATISTICS_NORMALIZATION]: batchStatisticsNormalizationGradient,
  Conv: (g, n, dy, wants) => {
    const [x, weight, bias] = [n.inputs[0]!, n.inputs[1]!, n.inputs[2] ?? null];
    const groups = int(n, 'group', 1);
    const kernel = [weight.shape[2] as number, weight.shape[3] as number] as const;
    const unitStride = ints(n, 'strides').every((s) => s === 1) && groups === 1;
    const gradX = (): Value => (unitStride ? flippedConv(g, dy, weight, x, n) : transposeConv(g, dy, weight, x, n, groups));
    const gradW = (): Value => {
      if (unitStride) return im2colWeightGradient(g, x, dy, n, kernel);
      if (groups === 1) return convWeightGradient(g, x, dy, n, kernel);
      const c = (x.shape[1] as number) / groups;
      const o = (dy.shape[1] as number) / groups;
      const parts = Array.from({ length: groups }, (_, k) =>
        convWeightGradient(g, g.slice(x, [k * c], [(k + 1) * c], [1]), g.slice(dy, [k * o], [(k + 1) * o], [1]), n, kernel),
      );
      return g.concat(parts, 0);
    };
    return [wants[0] ? gradX() : null, wants[1] ? gradW() : null, bias !== null && wants[2] ? g.reduceSum(dy, [0, 2, 3], false) : null];
  },
  MaxPool: (g, n, dy) => {
    const x = n.inputs[0]!;
    if (n.outputs.length === 1) return [tiledMaxPoolGradient(g, x, n.outputs[0]!, dy, ints(n, 'kernel_shape'))];
    const indices = n.outputs[1]!; // positions in the flattened input, batch and channel included
    const flat = g.reshape(dy, [-1]);
    const positions = g.reshape(indices, [-1, 1]);
    const spread = g.scatterAdd(g.zerosLike(g.reshape(x, [-1])), positions, flat);
    return [g.reshapeLike(spread, x)];
  },
  AveragePool: (g, n, dy) => {
    const x = n.inputs[0]!;
    const [kh, kw] = ints(n, 'kernel_shape');
    const strides = ints(n, 'strides');
    const pads = ints(n, 'pads');
    const channels = x.shape[1];
    if (typeof channels !== 'number') throw new Error(`AveragePool gradient: input ${x.name} needs a fixed channel count, has ${formatShape(x.shape)}`);
    // Each output position averaged over the in-bounds elements of its window only.
    const counts = windowCounts(x.shape[2] as number, x.shape[3] as number, kh!, kw!, strides, pads);
    const perWindow = g.div(dy, g.initializer(g.fresh('average_pool_counts'), { dtype: dy.dtype, dims: [1, 1, counts.rows, counts.cols], values: counts.values }));
    const ones = g.initializer(g.fresh('average_pool_ones'), { dtype: dy.dtype, dims: [channels, 1, kh!, kw!], values: new Float32Array(channels * kh! * kw!).fill(1) });
    return [transposeConv(g, perWindow, ones, x, n, channels)];
  },
  GlobalAveragePool: (g, n, dy) => {
    const x = n.inputs[0]!;
    const plane = (x.shape[2] as number) * (x.shape[3] as number);
    return [g.mul(g.expandLike(dy, x), g.scalar(1 / plane, dy.dtype))];
  },
};

/**
 * dX for a stride-1, one-group Conv as another Conv: dY correlated with the kernel flipped in
 * both spatial axes and its O and C axes swapped, padded by d (k - 1) - p on each side so the
 * output has X's size.
 */
function flippedConv(g: GraphBuilder, dy: Value, weight: Value, like: Value, node: NodeRecord): Value {
  const [kh, kw] = [weight.shape[2] as number, weight.shape[3] as number];
  const pads = ints(node, 'pads');
  const [dh, dw] = node.attributes.dilations === undefined ? [1, 1] : ints(node, 'dilations');
  const reversed = (k: number): Value => g.ints(Array.from({ length: k }, (_, i) => k - 1 - i));
  const flipped = g.gather(g.gather(g.transpose(weight, [1, 0, 2, 3]), reversed(kh), 2), reversed(kw), 3); // (C, O, kH, kW)
  const [fullH, fullW] = [dh! * (kh - 1), dw! * (kw - 1)];
  const complement = [fullH - pads[0]!, fullW - pads[1]!, fullH - pads[2]!, fullW - pads[3]!];
  if (complement.some((p) => p < 0)) return transposeConv(g, dy, weight, like, node, 1); // padding wider than the dilated kernel
  return g.node(
    'Conv',
    [dy, flipped],
    { kernel_shape: { ints: [kh, kw] }, strides: { ints: [1, 1] }, pads: { ints: complement }, dilations: { ints: [dh!, dw!] }, group: { int: 1 } },
    dy.dtype,
    like.shape,
  ); // (N, C, H, W)
}

/**
 * From this many input channels on, the weight gradient runs one GEMM per kernel tap instead of
 * one over the concatenated columns: each GEMM's (O, C) output is then wide enough for MLAS, and the
 * Concat (a fifth of the GEMM's time at 32 channels) goes; 3-7% of the benchmark CNN's step in
 * one-process A/B runs. Below it (a first layer's 1 or 3 channels) the per-tap GEMMs are matrix-vector
 * products and the one GEMM wins.
 */
const PER_TAP_GEMM_MIN_CHANNELS = 16;

/**
 * dW for a stride-1, one-group Conv as one GEMM: dW[o, (c, a, b)] = sum over (n, i, j) of
 * dY[n, o, i, j] X_padded[n, c, i + a d, j + b d]. The columns are built channels-first, (C, kH kW,
 * N H' W'), from k x k Slices of the padded X with its N and C axes swapped, so the Concat copies
 * whole planes, the GEMM takes them transposed (no copy), and its (O, C kH kW) result is already
 * the weight's layout. (Channels-last columns, (N H' W', kH kW C), made the Concat move C floats
 * at a time and cost as much as the GEMM.) From PER_TAP_GEMM_MIN_CHANNELS input channels on, one GEMM
 * per tap replaces the Concat.
 */
function im2colWeightGradient(g: GraphBuilder, x: Value, dy: Value, node: NodeRecord, kernel: readonly [number, number]): Value {
  const pads = ints(node, 'pads');
  const [dh, dw] = node.attributes.dilations === undefined ? [1, 1] : ints(node, 'dilations');
  const [c, o] = [x.shape[1] as number, dy.shape[1] as number];
  const [ho, wo] = [dy.shape[2] as number, dy.shape[3] as number];
  const [kh, kw] = kernel;
  const swapped = g.transpose(x, [1, 0, 2, 3]); // (C, N, H, W)
  const padded = pads.some((p) => p > 0) ? g.pad(swapped, [0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!]) : swapped; // (C, N, H + p, W + p)
  const taps: Value[] = [];
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) taps.push(g.reshape(g.slice(padded, [a * dh!, b * dw!], [a * dh! + ho, b * dw! + wo], [2, 3]), [c, 1, -1])); // (C, 1, N H' W')
  }
  const rows = g.reshape(g.transpose(dy, [1, 0, 2, 3]), [o, -1]); // (O, N H' W')
  if (c >= PER_TAP_GEMM_MIN_CHANNELS && taps.length > 1) {
    // One GEMM per tap, (O, N H' W') x (C, N H' W')^T -> (O, C), reads the Slices as they are:
    // no Concat copy of the k^2 C N H' W' columns.
    const perTap = taps.map((tap) => g.reshape(g.gemm(rows, g.reshape(tap, [c, -1]), null, { transB: true }), [o, c, 1]));
    return g.reshape(g.concat(perTap, 2), [o, c, kh, kw]); // (O, C, kH kW) -> (O, C, kH, kW)
  }
  const columns = g.reshape(taps.length === 1 ? taps[0]! : g.concat(taps, 1), [c * kh * kw, -1]); // (C kH kW, N H' W')
  return g.reshape(g.gemm(rows, columns, null, { transB: true }), [o, c, kh, kw]); // (O, C, kH, kW)
}

/**
 * dX of a MaxPool whose windows tile the input: each window's dY goes to the elements equal to
 * its maximum. Rows and columns past the last whole window get nothing.
 */
function tiledMaxPoolGradient(g: GraphBuilder, x: Value, y: Value, dy: Value, kernel: readonly number[]): Value {
  const [h, w] = [x.shape[2] as number, x.shape[3] as number];
  const k = kernel[0]!;
  const [ho, wo] = [y.shape[2] as number, y.shape[3] as number];
  // Each window's value repeated over its k x k positions. float32: Resize by nearest neighbour
  // with an integer scale (asymmetric coordinates, floor: output (i, j) reads input (i / k, j / k)),
  // one pass over the output. ONNX Runtime's Resize has no float64 kernel, so there: k^2 copies
  // stacked on the channel axis, then DepthToSpace (three passes; a broadcast over 6-D would be
  // ONNX Runtime's slow path).
  const size: Dim[] = [x.shape[0]!, x.shape[1]!, ho * k, wo * k];
  const scales = dy.dtype === 'float32' ? g.initializer(g.fresh('max_pool_spread_scales'), { dtype: 'float32', dims: [4], values: [1, 1, k, k] }) : null;
  const spread = (v: Value): Value =>
    scales !== null
      ? g.node('Resize', [v, null, scales], { mode: { string: 'nearest' }, coordinate_transformation_mode: { string: 'asymmetric' }, nearest_mode: { string: 'floor' } }, v.dtype, size)
      : g.node('DepthToSpace', [g.concat(Array.from({ length: k * k }, () => v), 1)], { blocksize: { int: k }, mode: { string: 'DCR' } }, v.dtype, size);
  const covered = ho * k === h && wo * k === w ? x : g.slice(x, [0, 0], [ho * k, wo * k], [2, 3]); // (N, C, H' k, W' k)
  const routed = g.mul(g.cast(g.equal(covered, spread(y)), dy.dtype), spread(dy)); // (N, C, H' k, W' k)
  const missing = [h - ho * k, w - wo * k];
  return missing[0] === 0 && missing[1] === 0 ? routed : g.pad(routed, [0, 0, 0, 0, 0, 0, missing[0]!, missing[1]!]); // (N, C, H, W)
}

/** How many in-bounds input elements each pooling window covers (the divisor of count_include_pad 0). */
function windowCounts(h: number, w: number, kh: number, kw: number, strides: readonly number[], pads: readonly number[]): { rows: number; cols: number; values: Float32Array } {
  const along = (size: number, k: number, s: number, begin: number, end: number): number[] => {
    const out = Math.floor((size + begin + end - k) / s) + 1;
    return Array.from({ length: out }, (_, i) => {
      const start = i * s - begin;
      return Math.min(size, start + k) - Math.max(0, start);
    });
  };
  const rows = along(h, kh, strides[0]!, pads[0]!, pads[2]!);
  const cols = along(w, kw, strides[1]!, pads[1]!, pads[3]!);
  const values = new Float32Array(rows.length * cols.length);
  rows.forEach((r, i) => cols.forEach((c, j) => (values[i * cols.length + j] = r * c)));
  return { rows: rows.length, cols: cols.length, values };
}
