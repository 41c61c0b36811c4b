/**
 * algorithm=audio-classifier: WAV files, one folder per class (or a manifest), mixed down to mono,
 * resampled to sample_rate and cut or padded to clip_seconds; model.onnx computes the log-mel
 * spectrogram itself (models/audio-classifier.ts), so the served model takes raw samples.
 */
import type { AudioClassifierDescription } from '../artifact/model-description.ts';
import { audioAugment } from '../data/augmentations.ts';
import { decodeWav } from '../data/wav-decode.ts';
import { audioClassifierSpec } from '../models/audio-classifier.ts';
import { cnnBody, runCnnTraining } from './run-cnn-classifier.ts';
import type { TrainingResult } from './training-events.ts';
import type { TrainingJob } from './training-job.ts';

export function runAudioClassifierTraining(job: TrainingJob): Promise<TrainingResult> {
  const { hp } = job;
  const samples = Math.round(hp.sampleRate * hp.clipSeconds);
  const spectrogram = { sampleRate: hp.sampleRate, nFft: hp.nFft, hopLength: hp.hopLength, nMels: hp.nMels };
  return runCnnTraining(job, {
    algorithm: 'audio-classifier',
    extensions: ['.wav', '.wave'],
    what: 'WAV files',
    exampleWidth: samples,
    decode: (bytes) => decodeWav(bytes, { sampleRate: hp.sampleRate, samples }),
    augment: audioAugment(samples, { noise: hp.augmentNoise, shift: Math.round(hp.augmentShift * hp.sampleRate) }),
    spec: (_set, _indices, classes) => audioClassifierSpec({ samples, spectrogram, cnn: cnnBody(hp, classes) }),
    describe: (base): AudioClassifierDescription => ({
      ...base,
      algorithm: 'audio-classifier',
      audio: { sampleRate: hp.sampleRate, clipSamples: samples, nFft: hp.nFft, hopLength: hp.hopLength, nMels: hp.nMels },
    }),
  });
}
