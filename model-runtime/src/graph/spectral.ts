/**
 * Spectral features inside the graph, so a served audio model takes raw samples: a short-time
 * Fourier transform, a mel filterbank and the log, as torchaudio's
 * MelSpectrogram(center=False, power=2, mel_scale='htk', norm=None) followed by log(x + 1e-6).
 *
 * The STFT is a DFT per frame written as one strided Conv: a (2 K, 1, 1, n_fft) kernel whose rows
 * are the Hann-windowed cos and -sin of the K = n_fft / 2 + 1 frequencies, sliding hop_length
 * samples at a time, so ONNX Runtime runs it as a single im2col + GEMM (MLAS) for any n_fft, not
 * only powers of two. Nothing here needs a gradient: the features come before every parameter.
 */
import type { GraphBuilder } from './builder.ts';
import { conv2d } from './convolution.ts';
import { formatShape } from './shape.ts';
import type { Value } from './types.ts';

export interface LogMelOptions {
  readonly sampleRate: number;
  /** Samples per frame (the window's length too). */
  readonly nFft: number;
  /** Samples between the starts of consecutive frames. */
  readonly hopLength: number;
  readonly nMels: number;
  /** @default 0 */
  readonly fMin?: number;
  /** @default sampleRate / 2 */
  readonly fMax?: number;
}

/** Added to the mel energies before the log, so silence gives log(1e-6) rather than -Infinity. */
const LOG_FLOOR = 1e-6;

/** Frames an STFT without centring takes from `samples` samples. */
export function frameCount(samples: number, nFft: number, hopLength: number): number {
  return samples < nFft ? 0 : Math.floor((samples - nFft) / hopLength) + 1;
}

/** audio (B, S) -> log-mel spectrogram (B, 1, n_mels, frames): an image for the CNN. */
export function logMelSpectrogram(g: GraphBuilder, audio: Value, options: LogMelOptions): Value {
  const { nFft, hopLength, nMels } = options;
  const samples = audio.shape[1];
  if (audio.shape.length !== 2 || typeof samples !== 'number') throw new Error(`logMelSpectrogram: audio ${audio.name} must be (B, S) with a fixed S, got ${formatShape(audio.shape)}`);
  if (frameCount(samples, nFft, hopLength) < 1) throw new Error(`logMelSpectrogram: ${samples} samples are fewer than one frame of n_fft ${nFft}`);
  const bins = Math.floor(nFft / 2) + 1;
  const kernel = g.initializer(g.fresh('stft_kernel'), { dtype: 'float32', dims: [2 * bins, 1, 1, nFft], values: dftKernel(nFft) });
  const planes = g.reshape(audio, [audio.shape[0]!, 1, 1, samples]); // (B, 1, 1, S)
  const spectrum = g.squeeze(conv2d(g, planes, kernel, null, { stride: [1, hopLength] }), [2]); // (B, 2K, T)
  const real = g.slice(spectrum, [0], [bins], [1]); // (B, K, T)
  const imaginary = g.slice(spectrum, [bins], [2 * bins], [1]); // (B, K, T)
  const power = g.add(g.mul(real, real), g.mul(imaginary, imaginary)); // (B, K, T)
  const filters = g.initializer(g.fresh('mel_filters'), {
    dtype: 'float32',
    dims: [nMels, bins],
    values: melFilterbank(options.sampleRate, nFft, nMels, options.fMin ?? 0, options.fMax ?? options.sampleRate / 2),
  });
  const mel = g.matmul(filters, power); // (B, M, T)
  return g.unsqueeze(g.log(g.add(mel, g.scalar(LOG_FLOOR, 'float32'))), [1]); // (B, 1, M, T)
}

/** Rows 0..K-1: hann(n) cos(2 pi k n / N); rows K..2K-1: -hann(n) sin(2 pi k n / N). */
export function dftKernel(nFft: number): Float32Array {
  const bins = Math.floor(nFft / 2) + 1;
  const out = new Float32Array(2 * bins * nFft);
  for (let k = 0; k < bins; k++) {
    for (let n = 0; n < nFft; n++) {
      // The periodic Hann window (torch.hann_window's default), which tiles without a seam.
      const window = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft);
      const angle = (2 * Math.PI * k * n) / nFft;
      out[k * nFft + n] = window * Math.cos(angle);
      out[(bins + k) * nFft + n] = -window * Math.sin(angle);
    }
  }
  return out;
}

const hzToMel = (hz: number): number => 2595 * Math.log10(1 + hz / 700);
const melToHz = (mel: number): number => 700 * (10 ** (mel / 2595) - 1);

/**
 * (n_mels, K) triangular filters evenly spaced on the HTK mel scale between fMin and fMax, each
 * rising from its left neighbour's centre to its own and falling to its right neighbour's
 * (torchaudio.functional.melscale_fbanks with norm=None, mel_scale='htk').
 */
export function melFilterbank(sampleRate: number, nFft: number, nMels: number, fMin: number, fMax: number): Float32Array {
  if (!(fMax > fMin) || fMax > sampleRate / 2) throw new Error(`mel filterbank: need 0 <= fMin < fMax <= sampleRate / 2, got ${fMin}..${fMax} at ${sampleRate} Hz`);
  const bins = Math.floor(nFft / 2) + 1;
  const low = hzToMel(fMin);
  const high = hzToMel(fMax);
  const edges = Array.from({ length: nMels + 2 }, (_, i) => melToHz(low + ((high - low) * i) / (nMels + 1)));
  const out = new Float32Array(nMels * bins);
  for (let m = 0; m < nMels; m++) {
    const [left, centre, right] = [edges[m]!, edges[m + 1]!, edges[m + 2]!];
    for (let k = 0; k < bins; k++) {
      const hz = (k * sampleRate) / nFft;
      const rising = (hz - left) / (centre - left);
      const falling = (right - hz) / (right - centre);
      out[m * bins + k] = Math.max(0, Math.min(rising, falling));
    }
  }
  return out;
}
