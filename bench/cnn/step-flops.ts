/**
 * The matmul-class FLOPs of one training step of the benchmark CNN (3x3 'same' convs, 2x2
 * pools, a dense head): 2 multiply-adds per weight use, counted for each conv's forward, input
 * gradient (all but the first conv: the pixels need none) and weight gradient, and the dense
 * layers' forward, input and weight gradients. Element-wise work (ReLU, pooling, the update)
 * is left out: it is memory-bound, and small next to these.
 */
export interface CnnShape {
  readonly batch: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Output channels of each conv block (one conv each, then a 2x2 max pool). */
  readonly widths: readonly number[];
  readonly kernel: number;
  readonly dense: number;
  readonly classes: number;
}

export function cnnStepFlops(s: CnnShape): number {
  let [h, w, c] = [s.height, s.width, s.channels];
  let flops = 0;
  s.widths.forEach((out, i) => {
    const forward = 2 * s.batch * h * w * out * c * s.kernel * s.kernel;
    flops += forward * (i === 0 ? 2 : 3); // forward + weight gradient (+ input gradient)
    [h, w, c] = [Math.floor(h / 2), Math.floor(w / 2), out];
  });
  const features = h * w * c;
  const layers = s.dense > 0 ? [[features, s.dense], [s.dense, s.classes]] : [[features, s.classes]];
  for (const [inputs, outputs] of layers) flops += 3 * 2 * s.batch * inputs! * outputs!; // forward, input and weight gradients
  return flops;
}
