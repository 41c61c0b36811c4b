/**
 * algorithm=image-classifier: the CNN of cnn.ts behind a front end that takes pixels as a
 * decoder gives them, (N, H, W, C) in 0..255, and normalises them per channel with the training
 * images' mean and standard deviation (model.json records both; model.onnx holds them).
 */
import type { GraphBuilder } from '../graph/builder.ts';
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
  const perChannel = (g: GraphBuilder, name: string, values: readonly number[]): Value =>
    g.initializer(g.fresh(name), { dtype: 'float32', dims: [1, channels, 1, 1], values: Float32Array.from(values) });
  // A channel that never varies (a constant background) has std 0: dividing by 1 keeps it at 0.
  const std = config.channelStd.map((s) => (s > 1e-6 && Number.isFinite(s) ? s : 1));
  return {
    inputName: IMAGE_INPUT,
    exampleShape: [height, width, channels],
    frontEnd: (g, pixels) => {
      const planes = g.transpose(pixels, [0, 3, 1, 2]); // (B, C, H, W)
      // (x / 255 - mean) / std as one scale and one shift per channel: two passes over the
      // pixels instead of three (6-9% of a 28x28x1 training step).
      const scale = std.map((s) => 1 / (255 * s));
      const shift = std.map((s, c) => -config.channelMean[c]! / s);
      return g.add(g.mul(planes, perChannel(g, 'channel_scale', scale)), perChannel(g, 'channel_shift', shift)); // (B, C, H, W)
    },
    cnn: { ...config.cnn, inputShape: [channels, height, width] },
  };
}
