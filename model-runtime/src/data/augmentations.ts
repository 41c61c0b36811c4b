/**
 * Data augmentation of training examples (the seed document's 8.2: more varied data, better
 * models), each a function of the draws it is handed, so example-set.ts can seed it per epoch and
 * example: a resumed run augments exactly as an uninterrupted one.
 */
import type { Augment } from './example-set.ts';
import type { ImageShape } from './image-decode.ts';

export interface ImageAugmentation {
  /** Mirror left-right with probability 1/2. */
  readonly flip: boolean;
  /** Largest shift each way, in pixels, of a random crop (edges repeated); 0 = none. */
  readonly crop: number;
}

/** On (H, W, C) pixels; null when nothing is on. */
export function imageAugment(shape: ImageShape, options: ImageAugmentation): Augment | null {
  if (!options.flip && options.crop === 0) return null;
  const { height, width, channels } = shape;
  const source = new Float32Array(height * width * channels);
  return (example, random) => {
    const flip = options.flip && random() < 0.5;
    const dy = options.crop > 0 ? Math.floor(random() * (2 * options.crop + 1)) - options.crop : 0;
    const dx = options.crop > 0 ? Math.floor(random() * (2 * options.crop + 1)) - options.crop : 0;
    if (!flip && dy === 0 && dx === 0) return;
    source.set(example);
    for (let y = 0; y < height; y++) {
      const sy = Math.min(height - 1, Math.max(0, y + dy));
      for (let x = 0; x < width; x++) {
        const shifted = Math.min(width - 1, Math.max(0, x + dx));
        const sx = flip ? width - 1 - shifted : shifted;
        for (let c = 0; c < channels; c++) example[(y * width + x) * channels + c] = source[(sy * width + sx) * channels + c]!;
      }
    }
  };
}

export interface AudioAugmentation {
  /** Standard deviation of added Gaussian noise (full scale = 1); 0 = none. */
  readonly noise: number;
  /** Largest shift each way, in samples; silence fills the gap; 0 = none. */
  readonly shift: number;
}

/** On (S) samples; null when nothing is on. */
export function audioAugment(samples: number, options: AudioAugmentation): Augment | null {
  if (options.noise === 0 && options.shift === 0) return null;
  const source = new Float32Array(samples);
  return (example, random) => {
    const shift = options.shift > 0 ? Math.floor(random() * (2 * options.shift + 1)) - options.shift : 0;
    if (shift !== 0) {
      source.set(example);
      for (let i = 0; i < samples; i++) {
        const from = i - shift;
        example[i] = from >= 0 && from < samples ? source[from]! : 0;
      }
    }
    if (options.noise > 0) {
      for (let i = 0; i < samples; i += 2) {
        // Box-Muller: two normal draws per two uniform ones.
        const radius = Math.sqrt(-2 * Math.log(1 - random())) * options.noise;
        const angle = 2 * Math.PI * random();
        example[i] = example[i]! + radius * Math.cos(angle);
        if (i + 1 < samples) example[i + 1] = example[i + 1]! + radius * Math.sin(angle);
      }
    }
  };
}
