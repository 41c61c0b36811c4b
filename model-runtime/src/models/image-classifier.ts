/**
 * algorithm=image-classifier: the CNN of cnn.ts behind a front end that takes pixels as a
 * decoder gives them, (N, H, W, C) in 0..255, and normalises them per channel with the training
 * images' mean and standard deviation (model.json records both; model.onnx holds them).
 */
import { batchNormInference } from '../graph/convolution.ts';
import type { Value } from '../graph/types.ts';
import type { CnnConfig } from './cnn.ts';
import type { ConvClassifierSpec } from './conv-classifier.ts';

/** model.onnx's input: float32 (N, H, W, C) pixel values 0..255, channels last. */
export const IMAGE_INPUT = 'pixels';

export interface ImageClassifierConfig {
  readonly height: number;
  readonly width: number;
  /** 1 (grayscale) or 3 (RGB). */
  readonly channels: number;
  /** Per channel, of pixel / 255 over the training images. */
  readonly channelMean: readonly number[];
  readonly channelStd: readonly number[];
  readonly cnn: Omit<CnnConfig, 'inputShape'>;
}

export function imageClassifierSpec(config: ImageClassifierConfig): ConvClassifierSpec {
  const { height, width, channels } = config;
  // A channel that never varies (a constant background) has std 0: dividing by 1 keeps it at 0.
  const std = config.channelStd.map((s) => (s > 1e-6 && Number.isFinite(s) ? s : 1));
  return {
    inputName: IMAGE_INPUT,
    exampleShape: [height, width, channels],
    frontEnd: (g, pixels) => {
      const planes = g.transpose(pixels, [0, 3, 1, 2]); // (B, C, H, W)
      // (x / 255 - mean) / std as x scale + shift per channel, run by ONNX Runtime's
      // BatchNormalization kernel (mean 0, variance 1, epsilon 0: exactly x a + b), which sweeps
      // each channel's plane as one vectorised span. Mul, Sub and Div by (1, C, 1, 1) constants took
      // three broadcasting passes and 7% of a 64x64x3 training step.
      const vector = (name: string, values: readonly number[]): Value =>
        g.initializer(g.fresh(name), { dtype: 'float32', dims: [channels], values: Float32Array.from(values) });
      const scale = vector('channel_scale', std.map((s) => 1 / (255 * s)));
      const shift = vector('channel_shift', std.map((s, c) => -config.channelMean[c]! / s));
      return batchNormInference(g, planes, scale, shift, vector('zero_mean', new Array<number>(channels).fill(0)), vector('unit_variance', new Array<number>(channels).fill(1)), 0); // (B, C, H, W)
    },
    cnn: { ...config.cnn, inputShape: [channels, height, width] },
  };
}
