/**
 * The in-graph log-mel spectrogram against a direct computation in JavaScript (a DFT per frame),
 * and the mel filterbank's shape: a tone's energy lands in the band that holds its frequency.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { GraphBuilder } from '../../../model-runtime/src/graph/builder.ts';
import { toModelBytes } from '../../../model-runtime/src/graph/proto.ts';
import { frameCount, logMelSpectrogram, melFilterbank } from '../../../model-runtime/src/graph/spectral.ts';

const options = { sampleRate: 8000, nFft: 256, hopLength: 128, nMels: 20 };

function referenceLogMel(samples: Float32Array): number[][] {
  const { nFft, hopLength, nMels, sampleRate } = options;
  const bins = nFft / 2 + 1;
  const filters = melFilterbank(sampleRate, nFft, nMels, 0, sampleRate / 2);
  const frames = frameCount(samples.length, nFft, hopLength);
  const out = Array.from({ length: nMels }, () => new Array<number>(frames).fill(0));
  for (let t = 0; t < frames; t++) {
    const power = new Array<number>(bins).fill(0);
    for (let k = 0; k < bins; k++) {
      let re = 0;
      let im = 0;
      for (let n = 0; n < nFft; n++) {
        const v = samples[t * hopLength + n]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft));
        re += v * Math.cos((2 * Math.PI * k * n) / nFft);
        im -= v * Math.sin((2 * Math.PI * k * n) / nFft);
      }
      power[k] = re * re + im * im;
    }
    for (let m = 0; m < nMels; m++) out[m]![t] = Math.log(power.reduce((sum, p, k) => sum + p * filters[m * bins + k]!, 0) + 1e-6);
  }
  return out;
}

describe('logMelSpectrogram', () => {
  test('matches a direct DFT per frame, mel filters and log', async () => {
    const samples = Float32Array.from({ length: 2048 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 8000) + 0.2 * Math.sin((2 * Math.PI * 2100 * i) / 8000 + 1));
    const g = new GraphBuilder('logmel');
    const y = logMelSpectrogram(g, g.input('audio', 'float32', ['B', samples.length]), options);
    g.output(y, 'y');
    expect(y.shape).toEqual(['B', 1, 20, frameCount(2048, 256, 128)]);
    const session = await ort.InferenceSession.create(toModelBytes(g));
    const result = await session.run({ audio: new ort.Tensor('float32', samples, [1, samples.length]) });
    await session.release();
    const got = result.y!.data as Float32Array;
    const expected = referenceLogMel(samples).flat();
    expect(got.length).toBe(expected.length);
    // Compared where the band has energy (log of ~0 is dominated by float32 rounding).
    const errors = expected.map((e, i) => (e > -5 ? Math.abs(got[i]! - e) : 0));
    expect(Math.max(...errors)).toBeLessThan(1e-2);
  });

  test('each mel filter is a triangle; a tone peaks in the band around its frequency', () => {
    const bins = 129;
    const filters = melFilterbank(8000, 256, 20, 0, 4000);
    const peaks = Array.from({ length: 20 }, (_, m) => {
      const row = Array.from(filters.subarray(m * bins, (m + 1) * bins));
      return row.indexOf(Math.max(...row));
    });
    expect(peaks).toEqual([...peaks].sort((a, b) => a - b));
    expect(Math.max(...filters)).toBeLessThanOrEqual(1);
    expect(() => melFilterbank(8000, 256, 20, 0, 5000)).toThrow(/fMax <= sampleRate \/ 2/);
  });

  test('a clip shorter than one frame is refused at build time', () => {
    const g = new GraphBuilder('short');
    expect(() => logMelSpectrogram(g, g.input('audio', 'float32', ['B', 100]), options)).toThrow(/100 samples are fewer than one frame of n_fft 256/);
  });
});
