/**
 * A small convolutional network over (B, C, H, W) planes, the body of the image and audio
 * classifiers:
 *
 *   blocks   for each width w: convs_per_block x (Conv k x k 'same' -> ReLU), then MaxPool 2 x 2
 *            (the last ReLU computed after the pool, which gives the same values on a quarter of them)
 *   head     Flatten -> Linear(dense_units) -> ReLU -> Linear(classes)   (no hidden layer when dense_units = 0)
 *
 * With widths [32, 64], one conv per block and 128 dense units this is the classic MNIST CNN
 * (and the one bench/cnn/ runs against PyTorch). No batch normalisation: its running statistics
 * would be training-step outputs that are neither parameters nor optimizer state, and a network
 * this shallow trains well without it under Adam.
 */
import { conv2d, maxPool2d } from '../graph/convolution.ts';
import type { GraphBuilder } from '../graph/builder.ts';
import type { Value } from '../graph/types.ts';
import type { ParameterSpec } from './network.ts';

export interface CnnConfig {
  /** What the body is fed: (C, H, W) of one example. */
  readonly inputShape: readonly [number, number, number];
  /** Output channels of each conv block; the number of entries is the depth. e.g. [32, 64]. */
  readonly widths: readonly number[];
  /** Convolutions (each followed by ReLU) in every block before its pooling. @default 1 */
  readonly convsPerBlock: number;
  /** Side of the square kernels. @default 3 */
  readonly kernelSize: number;
  /** Units of the hidden layer of the head; 0 = the flattened features go straight to the classes. */
  readonly denseUnits: number;
  /** K: classes (logits out). */
  readonly classes: number;
}

/** Pooling halves each side (floor), as torch's MaxPool2d(2). */
const POOL = 2;

/** The (C, H, W) leaving the last block; refuses a depth the input cannot be pooled down to. */
export function cnnFeatureShape(config: CnnConfig): [number, number, number] {
  let [c, h, w] = config.inputShape;
  for (const width of config.widths) {
    if (h < POOL || w < POOL) {
      throw new Error(`a ${config.inputShape[1]}x${config.inputShape[2]} input cannot pass ${config.widths.length} conv blocks: each pools by ${POOL}, and block ${config.widths.indexOf(width) + 1} would see ${h}x${w}; use fewer conv_widths or a larger input`);
    }
    [c, h, w] = [width, Math.floor(h / POOL), Math.floor(w / POOL)];
  }
  return [c, h, w];
}

export function cnnParameters(config: CnnConfig): ParameterSpec[] {
  const k = config.kernelSize;
  const specs: ParameterSpec[] = [];
  let inChannels = config.inputShape[0];
  config.widths.forEach((width, b) => {
    for (let j = 0; j < config.convsPerBlock; j++) {
      specs.push({ name: `block${b}.conv${j}.weight`, shape: [width, inChannels, k, k], init: 'he-uniform' });
      specs.push({ name: `block${b}.conv${j}.bias`, shape: [width], init: 'zeros' });
      inChannels = width;
    }
  });
  const [c, h, w] = cnnFeatureShape(config);
  let features = c * h * w;
  if (config.denseUnits > 0) {
    specs.push({ name: 'head.hidden.weight', shape: [config.denseUnits, features], init: 'he-uniform' });
    specs.push({ name: 'head.hidden.bias', shape: [config.denseUnits], init: 'zeros' });
    features = config.denseUnits;
  }
  specs.push({ name: 'head.out.weight', shape: [config.classes, features], init: 'glorot-uniform' });
  specs.push({ name: 'head.out.bias', shape: [config.classes], init: 'zeros' });
  return specs;
}

/** x (B, C, H, W) -> logits (B, K). */
export function cnnForward(g: GraphBuilder, x: Value, params: Readonly<Record<string, Value>>, config: CnnConfig): Value {
  let h = x; // (B, C, H, W)
  config.widths.forEach((_, b) => {
    for (let j = 0; j < config.convsPerBlock; j++) {
      const z = conv2d(g, h, params[`block${b}.conv${j}.weight`]!, params[`block${b}.conv${j}.bias`]!, { padding: 'same' }); // (B, w_b, H_b, W_b)
      // ReLU then pool equals pool then ReLU (max commutes with a monotone function), values and
      // gradients alike, so the block's last ReLU runs on the pooled quarter of the activations.
      h = j === config.convsPerBlock - 1 ? z : g.relu(z);
    }
    h = g.relu(maxPool2d(g, h, POOL)); // (B, w_b, H_b / 2, W_b / 2)
  });
  const [c, height, width] = cnnFeatureShape(config);
  let z = g.reshape(h, [x.shape[0]!, c * height * width]); // (B, c h w)
  if (config.denseUnits > 0) z = g.relu(g.gemm(z, params['head.hidden.weight']!, params['head.hidden.bias']!, { transB: true })); // (B, D)
  return g.gemm(z, params['head.out.weight']!, params['head.out.bias']!, { transB: true }); // (B, K)
}
