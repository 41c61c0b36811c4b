/**
 * Gradient checking through ONNX Runtime itself, in float64 unless asked: the autodiff gradient (the
 * backward graph, run by ONNX Runtime) against central finite differences of the same
 * graph's loss (also run by ONNX Runtime).
 */
import * as ort from 'onnxruntime-node';
import { createRandom } from '../../../model-runtime/src/data/random.ts';
import { gradients } from '../../../model-runtime/src/graph/autodiff.ts';
import { GraphBuilder } from '../../../model-runtime/src/graph/builder.ts';
import { toModelBytes } from '../../../model-runtime/src/graph/proto.ts';
import type { Value } from '../../../model-runtime/src/graph/types.ts';

export interface GradCheckInput {
  readonly shape: readonly number[];
  /** Values to start from; default: seeded uniform in [-1, 1]. */
  readonly values?: readonly number[];
}

export interface GradCheckResult {
  /** Largest |analytic - numeric| / max(1, |numeric|) over every element of every input. */
  readonly maxError: number;
  readonly analytic: Float64Array[];
  readonly numeric: Float64Array[];
}

/** Deterministic uniform numbers in [-1, 1). */
function uniform(n: number, seed: number): number[] {
  const random = createRandom(seed);
  return Array.from({ length: n }, () => random() * 2 - 1);
}

export interface GradCheckOptions {
  /** Central-difference step; default 1e-6 (float64). */
  readonly eps?: number;
  /**
   * Element type of the inputs and loss; default float64. float32 exists for ops ONNX Runtime's
   * CPU runs in float32 only (Erf): it needs a step near 1e-2 and a tolerance near 1e-3.
   */
  readonly dtype?: 'float32' | 'float64';
}

/**
 * `build` maps the inputs to one output of any shape; the checked loss is sum(output * R) with
 * a fixed random R, so every output element's gradient matters.
 */
export async function gradCheck(
  inputs: readonly GradCheckInput[],
  build: (g: GraphBuilder, xs: Value[]) => Value,
  options: GradCheckOptions = {},
): Promise<GradCheckResult> {
  const eps = options.eps ?? 1e-6;
  const dtype = options.dtype ?? 'float64';
  const Typed = dtype === 'float64' ? Float64Array : Float32Array;
  const g = new GraphBuilder('gradcheck');
  const xs = inputs.map((inp, i) => g.input(`x${i}`, dtype, inp.shape));
  const y = build(g, xs);
  const shape = y.shape.map((d) => {
    if (typeof d !== 'number') throw new Error('gradCheck: output must have a static shape');
    return d;
  });
  const r = g.initializer('R', { dtype, dims: shape, values: uniform(shape.reduce((a, b) => a * b, 1), 99) });
  const loss = g.reduceSum(g.mul(y, r), shape.map((_, i) => i), false);
  g.output(loss, 'loss');
  gradients(g, loss, xs).forEach((grad, i) => g.output(grad, `grad${i}`));

  const session = await ort.InferenceSession.create(toModelBytes(g), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  try {
    const data = inputs.map((inp, i) => Typed.from(inp.values ?? uniform(inp.shape.reduce((a, b) => a * b, 1), 7 + i)));
    const feeds = (): Record<string, ort.Tensor> =>
      Object.fromEntries(data.map((d, i) => [`x${i}`, new ort.Tensor(dtype, d, inputs[i]!.shape as number[])]));
    const result = await session.run(feeds());
    const analytic = inputs.map((_, i) => Float64Array.from(result[`grad${i}`]!.data as ArrayLike<number>));
    const lossAt = async (): Promise<number> => ((await session.run(feeds(), ['loss'])).loss!.data as ArrayLike<number>)[0]!;
    const numeric: Float64Array[] = [];
    let maxError = 0;
    for (let i = 0; i < data.length; i++) {
      const d = data[i]!;
      const num = new Float64Array(d.length);
      for (let k = 0; k < d.length; k++) {
        const keep = d[k]!;
        // Divide by the step actually stored: in float32, keep +/- eps rounds.
        d[k] = keep + eps;
        const [up, plus] = [d[k]!, await lossAt()];
        d[k] = keep - eps;
        const [down, minus] = [d[k]!, await lossAt()];
        d[k] = keep;
        num[k] = (plus - minus) / (up - down);
        maxError = Math.max(maxError, Math.abs(analytic[i]![k]! - num[k]!) / Math.max(1, Math.abs(num[k]!)));
      }
      numeric.push(num);
    }
    return { maxError, analytic, numeric };
  } finally {
    await session.release();
  }
}
