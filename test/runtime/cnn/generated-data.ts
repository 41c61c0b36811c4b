/**
 * Data the CNN tests draw themselves: shapes in PNG and JPEG files, tones and chirps in WAV files,
 * laid out as class folders (or a manifest) in a training job's channels.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { encodePng } from '../../../model-runtime/src/data/image-decode.ts';
import { encodeWav16 } from '../../../model-runtime/src/data/wav-decode.ts';
import { createRandom } from '../../../model-runtime/src/data/random.ts';

export const SHAPES = ['bar', 'disc', 'ring'] as const;
export type ShapeKind = (typeof SHAPES)[number];

/**
 * A shape of random size, place and colour on a dark noisy background: (size, size, channels) 0..255.
 * bar: a filled horizontal bar; disc: a filled circle; ring: a circle's outline.
 */
export function drawShape(kind: ShapeKind, size: number, channels: number, seed: number): Uint8Array {
  const random = createRandom(seed);
  const colour = Array.from({ length: channels }, () => 150 + random() * 105);
  const radius = size * (0.22 + random() * 0.12);
  const cx = size / 2 + (random() - 0.5) * size * 0.25;
  const cy = size / 2 + (random() - 0.5) * size * 0.25;
  const out = new Uint8Array(size * size * channels);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
      const inside =
        kind === 'bar' ? Math.abs(y + 0.5 - cy) < radius * 0.4 && Math.abs(x + 0.5 - cx) < radius * 1.3 : kind === 'disc' ? d < radius : Math.abs(d - radius) < size * 0.07;
      for (let c = 0; c < channels; c++) out[(y * size + x) * channels + c] = inside ? colour[c]! : random() * 40;
    }
  }
  return out;
}

/** PNG (or JPEG) bytes of a drawn shape. */
export async function shapeImage(kind: ShapeKind, size: number, channels: number, seed: number, format: 'png' | 'jpeg' = 'png'): Promise<Uint8Array> {
  const pixels = drawShape(kind, size, channels, seed);
  if (format === 'png') return encodePng(pixels, { height: size, width: size, channels });
  return new Uint8Array(await sharp(Buffer.from(pixels), { raw: { width: size, height: size, channels: channels as 1 | 3 } }).jpeg({ quality: 95 }).toBuffer());
}

/** `<dir>/<shape>/<i>.png` for `perClass` images of each shape. */
export async function writeShapeFolders(dir: string, perClass: number, size: number, channels: number, seed: number): Promise<void> {
  for (const [k, kind] of SHAPES.entries()) {
    await mkdir(path.join(dir, kind), { recursive: true });
    for (let i = 0; i < perClass; i++) await writeFile(path.join(dir, kind, `${String(i).padStart(3, '0')}.png`), await shapeImage(kind, size, channels, seed * 100_003 + k * 1009 + i));
  }
}

export const SOUNDS = ['low', 'high', 'chirp'] as const;
export type SoundKind = (typeof SOUNDS)[number];

/**
 * A clip of `seconds` at `sampleRate`: low (300-500 Hz) or high (1500-2500 Hz) tone, or a chirp
 * sweeping 300 -> 3000 Hz, at a random level and start, with a little noise.
 */
export function drawSound(kind: SoundKind, sampleRate: number, seconds: number, seed: number): Float32Array {
  const random = createRandom(seed);
  const n = Math.round(sampleRate * seconds);
  const level = 0.2 + random() * 0.5;
  const f = kind === 'low' ? 300 + random() * 200 : kind === 'high' ? 1500 + random() * 1000 : 300;
  const start = Math.floor(random() * n * 0.2);
  const out = new Float32Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = (i - start) / sampleRate;
    const frequency = kind === 'chirp' ? 300 + (2700 * Math.max(0, t)) / seconds : f;
    phase += (2 * Math.PI * frequency) / sampleRate;
    out[i] = (i >= start ? level * Math.sin(phase) : 0) + (random() - 0.5) * 0.02;
  }
  return out;
}

/** `<dir>/<sound>/<i>.wav` (16-bit PCM) for `perClass` clips of each sound. */
export async function writeSoundFolders(dir: string, perClass: number, sampleRate: number, seconds: number, seed: number): Promise<void> {
  for (const [k, kind] of SOUNDS.entries()) {
    await mkdir(path.join(dir, kind), { recursive: true });
    for (let i = 0; i < perClass; i++) await writeFile(path.join(dir, kind, `${i}.wav`), encodeWav16(drawSound(kind, sampleRate, seconds, seed * 100_003 + k * 1009 + i), sampleRate));
  }
}
