/**
 * algorithm=audio-classifier: raw samples in, classes out. The front end computes the clip's
 * log-mel spectrogram inside the graph (graph/spectral.ts) and standardises it per clip (zero
 * mean, unit variance over the whole spectrogram), so a quiet recording and a loud one of the
 * same sound look alike to the CNN; the spectrogram is then an image of (1, n_mels, frames).
 */
import type { LogMelOptions } from '../graph/spectral.ts';
import { frameCount, logMelSpectrogram } from '../graph/spectral.ts';
import type { CnnConfig } from './cnn.ts';
import type { ConvClassifierSpec } from './conv-classifier.ts';

/** model.onnx's input: float32 (N, S) mono samples in -1..1 at the model's sample rate, S = clip length. */
export const AUDIO_INPUT = 'audio';

/** Keeps the per-clip standardisation finite on digital silence. */
const STANDARDISE_EPSILON = 1e-5;

export interface AudioClassifierConfig {
  /** S: samples per clip (sample_rate x clip_seconds). */
  readonly samples: number;
  readonly spectrogram: LogMelOptions;
  readonly cnn: Omit<CnnConfig, 'inputShape'>;
}

/** The spectrogram's (1, n_mels, frames): the CNN's input shape. */
export function spectrogramShape(config: Pick<AudioClassifierConfig, 'samples' | 'spectrogram'>): [number, number, number] {
  return [1, config.spectrogram.nMels, frameCount(config.samples, config.spectrogram.nFft, config.spectrogram.hopLength)];
}

export function audioClassifierSpec(config: AudioClassifierConfig): ConvClassifierSpec {
  return {
    inputName: AUDIO_INPUT,
    exampleShape: [config.samples],
    frontEnd: (g, audio) => {
      const logMel = logMelSpectrogram(g, audio, config.spectrogram); // (B, 1, M, T)
      const mean = g.reduceMean(logMel, [1, 2, 3], true); // (B, 1, 1, 1)
      const centred = g.sub(logMel, mean); // (B, 1, M, T)
      const variance = g.reduceMean(g.mul(centred, centred), [1, 2, 3], true); // (B, 1, 1, 1)
      return g.div(centred, g.sqrt(g.add(variance, g.scalar(STANDARDISE_EPSILON, 'float32')))); // (B, 1, M, T)
    },
    cnn: { ...config.cnn, inputShape: spectrogramShape(config) },
  };
}
