/**
 * algorithm=image-classifier: PNG and JPEG files, one folder per class (or a manifest), resized
 * to image_size and converted to image_channels; the per-channel mean and standard deviation of
 * the training images go into model.onnx's front end (models/image-classifier.ts).
 */
import type { ImageClassifierDescription } from '../artifact/model-description.ts';
import { imageAugment } from '../data/augmentations.ts';
import { decodeImage, type ImageShape } from '../data/image-decode.ts';
import type { ExampleSet } from '../data/example-set.ts';
import { imageClassifierSpec } from '../models/image-classifier.ts';
import { cnnBody, runCnnTraining } from './run-cnn-classifier.ts';
import type { TrainingResult } from './training-events.ts';
import type { TrainingJob } from './training-job.ts';

export function runImageClassifierTraining(job: TrainingJob): Promise<TrainingResult> {
  const { hp } = job;
  const shape: ImageShape = { height: hp.imageSize[0], width: hp.imageSize[1], channels: hp.imageChannels };
  let stats: { mean: number[]; std: number[] } | null = null;
  return runCnnTraining(job, {
    algorithm: 'image-classifier',
    extensions: ['.png', '.jpg', '.jpeg'],
    what: 'images',
    exampleWidth: shape.height * shape.width * shape.channels,
    decode: (bytes) => decodeImage(bytes, shape, { convertChannels: true }),
    augment: imageAugment(shape, { flip: hp.augmentFlip, crop: hp.augmentCrop }),
    spec: (set, trainIndices, classes) => {
      stats = channelStatistics(set, trainIndices, shape.channels);
      return imageClassifierSpec({ ...shape, channelMean: stats.mean, channelStd: stats.std, cnn: cnnBody(hp, classes) });
    },
    describe: (base): ImageClassifierDescription => ({
      ...base,
      algorithm: 'image-classifier',
      image: { ...shape, channelMean: stats!.mean, channelStd: stats!.std },
    }),
  });
}

/** Mean and (population) standard deviation of pixel / 255 per channel over the given examples. */
function channelStatistics(set: ExampleSet, indices: Uint32Array, channels: number): { mean: number[]; std: number[] } {
  const sum = new Float64Array(channels);
  const squares = new Float64Array(channels);
  for (const index of indices) {
    const example = set.values.subarray(index * set.width, (index + 1) * set.width);
    for (let i = 0; i < example.length; i++) {
      const v = example[i]! / 255;
      sum[i % channels]! += v;
      squares[i % channels]! += v * v;
    }
  }
  const n = (indices.length * set.width) / channels;
  const mean = Array.from(sum, (s) => s / n);
  return { mean, std: Array.from(squares, (s, c) => Math.sqrt(Math.max(0, s / n - mean[c]! ** 2))) };
}
