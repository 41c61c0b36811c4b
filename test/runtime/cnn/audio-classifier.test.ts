/**
 * algorithm=audio-classifier end to end on tones and chirps written as WAV files: it learns them
 * (the log-mel spectrogram computed inside model.onnx), serves WAV bodies of other rates,
 * encodings and channel counts, and JSON samples, and refuses bad audio with a named 4xx.
 */
import { rm } from 'node:fs/promises';
import wavefile from 'wavefile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AudioClassifierDescription } from '../../../model-runtime/src/artifact/model-description.ts';
import { decodeWav, encodeWav16 } from '../../../model-runtime/src/data/wav-decode.ts';
import { runTraining } from '../../../model-runtime/src/train/run.ts';
import { trainAndServe, type TrainedServer } from './trained-server.ts';
import { makeTree } from '../train/tree.ts';
import { SOUNDS, drawSound, shapeImage, writeSoundFolders } from './generated-data.ts';

const RATE = 8000;
const HP = {
  algorithm: 'audio-classifier', sample_rate: String(RATE), clip_seconds: '0.5', n_fft: '256', hop_length: '128', n_mels: '20',
  conv_widths: '8,16', dense_units: '32', epochs: '8', batch_size: '16', learning_rate: '0.003', validation_fraction: '0.2', seed: '3',
  augment_noise: '0.01', augment_shift: '0.05',
};

let trained: TrainedServer;

beforeAll(async () => {
  trained = await trainAndServe(HP, (dir) => writeSoundFolders(dir, 30, RATE, 0.5, 1));
}, 120_000);

afterAll(() => trained?.close());

const post = (body: Uint8Array | string, contentType: string, accept?: string) => trained.post(body, contentType, accept);
const top = (json: unknown): string => (json as { label: string }[])[0]!.label;

function wav(channels: Float32Array[], rate: number, depth: '16' | '32f'): Uint8Array {
  const file = new wavefile.WaveFile();
  const data = channels.map((c) => (depth === '16' ? Int16Array.from(c, (v) => Math.round(v * 32767)) : c));
  file.fromScratch(channels.length, rate, depth, channels.length === 1 ? data[0]! : data);
  return file.toBuffer();
}

describe('audio-classifier', () => {
  it('learns low tones, high tones and chirps to at least 90% validation accuracy', () => {
    expect(trained.result.description.metrics.validation_accuracy).toBeGreaterThanOrEqual(0.9);
    expect(trained.result.description as AudioClassifierDescription).toMatchObject({
      algorithm: 'audio-classifier',
      labels: [...SOUNDS].sort(),
      audio: { sampleRate: RATE, clipSamples: 4000, nFft: 256, hopLength: 128, nMels: 20 },
    });
    expect(trained.result.validationReport!.support).toEqual([6, 6, 6]);
  });

  it('answers WAV bodies at another rate, in stereo or float, and JSON samples', async () => {
    for (const [k, kind] of SOUNDS.entries()) {
      const at16k = drawSound(kind, 16_000, 0.5, 5000 + k);
      const stereo = await post(wav([at16k, at16k.map((v) => v * 0.5)], 16_000, '16'), 'audio/wav');
      expect(stereo.status).toBe(200);
      expect(top(stereo.json)).toBe(kind);
      const float = await post(wav([drawSound(kind, RATE, 0.5, 5100 + k)], RATE, '32f'), 'audio/x-wav');
      expect(top(float.json)).toBe(kind);
      const json = await post(JSON.stringify(Array.from(drawSound(kind, RATE, 0.5, 5200 + k))), 'application/json');
      expect(top(json.json)).toBe(kind);
    }
  });

  it('mixes stereo down, resamples and pads to the clip length', () => {
    const left = Float32Array.from({ length: 1600 }, (_, i) => Math.sin((2 * Math.PI * 200 * i) / 16_000) * 0.5);
    const mono = decodeWav(wav([left, left.map(() => 0)], 16_000, '16'), { sampleRate: RATE, samples: 1000 });
    expect(mono).toHaveLength(1000);
    // 1600 samples at 16 kHz are 800 at 8 kHz, at half the level (the silent right channel); then silence.
    expect(Math.max(...mono.subarray(0, 800))).toBeGreaterThan(0.2);
    expect(Math.max(...mono.subarray(0, 800))).toBeLessThan(0.3);
    expect(Math.max(...mono.subarray(810).map(Math.abs))).toBe(0);
  });

  it('refuses an A-law WAV, a truncated WAV, an image and bad JSON with named 4xx errors', async () => {
    const alaw = new wavefile.WaveFile();
    alaw.fromScratch(1, RATE, '8a', new Uint8Array(4000).fill(0xd5));
    const encoding = await post(alaw.toBuffer(), 'audio/wav');
    expect(encoding).toMatchObject({ status: 415, json: { type: 'UnsupportedAudioEncoding' } });
    expect((encoding.json as { message: string }).message).toMatch(/encoded as A-law; send linear PCM/);
    const clip = encodeWav16(drawSound('low', RATE, 0.5, 1), RATE);
    const truncated = await post(clip.subarray(0, 2000), 'audio/wav');
    expect(truncated).toMatchObject({ status: 400, json: { type: 'InvalidAudio' } });
    expect((truncated.json as { message: string }).message).toMatch(/truncated/);
    expect(await post(new TextEncoder().encode('RIFF nonsense'), 'audio/wav')).toMatchObject({ status: 400, json: { type: 'InvalidAudio' } });
    expect(await post(await shapeImage('disc', 16, 3, 1), 'image/png')).toMatchObject({ status: 415, json: { type: 'UnsupportedMediaType' } });
    expect(await post(JSON.stringify([0.1, 'loud']), 'application/json')).toMatchObject({ status: 400, json: { type: 'InvalidAudio' } });
  });

  it('refuses hyperparameters of the other family and a clip shorter than a frame', async () => {
    const tree = await makeTree({ algorithm: 'audio-classifier', image_size: '32' }, {});
    await expect(runTraining(tree, { onEvent: () => undefined })).rejects.toThrow('hyperparameter image_size does not apply to algorithm=audio-classifier, which reads one folder per class (or a manifest of "source-ref" and "class"); it applies to algorithm=image-classifier only');
    await rm(tree.root, { recursive: true, force: true });
    const short = await makeTree({ algorithm: 'audio-classifier', clip_seconds: '0.01' }, {});
    await expect(runTraining(short, { onEvent: () => undefined })).rejects.toThrow(/gives 160 samples, fewer than one spectrogram frame \(n_fft=400\)/);
    await rm(short.root, { recursive: true, force: true });
  });
});
