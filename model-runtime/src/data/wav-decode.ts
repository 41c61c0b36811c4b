/**
 * WAV bytes -> one clip as an audio model reads it: mono float32 samples in -1..1 at the model's
 * sample rate, cut or padded with silence to its length. Parsing and resampling (cubic, with
 * wavefile's low-pass filter against aliasing) are wavefile's; the encodings read are linear PCM
 * (8, 16, 24, 32 bits) and IEEE float (32, 64 bits), plain or in WAVE_FORMAT_EXTENSIBLE; stereo and
 * more channels are averaged.
 */
import wavefile from 'wavefile';

/** Why bytes are not a WAV file this model can read; `kind` tells a client's mistake from another. */
export class WavDecodeError extends Error {
  constructor(
    readonly kind: 'unreadable' | 'unsupported-encoding',
    message: string,
  ) {
    super(message);
    this.name = 'WavDecodeError';
  }
}

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;
/** The formats people meet, for a message that names what was sent. */
const FORMAT_NAMES: Readonly<Record<number, string>> = { 2: 'Microsoft ADPCM', 6: 'A-law', 7: 'mu-law', 17: 'IMA ADPCM', 85: 'MP3', 0x161: 'WMA' };

interface FmtChunk {
  readonly audioFormat: number;
  readonly numChannels: number;
  readonly sampleRate: number;
  readonly bitsPerSample: number;
  /** WAVE_FORMAT_EXTENSIBLE: the real format code in the sub-format GUID's first bytes. */
  readonly subformat?: readonly number[];
}

export interface ClipShape {
  readonly sampleRate: number;
  readonly samples: number;
}

export function decodeWav(bytes: Uint8Array, clip: ClipShape): Float32Array {
  let wav: InstanceType<typeof wavefile.WaveFile>;
  try {
    wav = new wavefile.WaveFile(bytes);
  } catch (error) {
    throw new WavDecodeError('unreadable', `not a readable WAV file (${(error as Error).message})`);
  }
  const fmt = wav.fmt as FmtChunk;
  const format = fmt.audioFormat === EXTENSIBLE ? (fmt.subformat?.[0] ?? 0) : fmt.audioFormat;
  const bits = fmt.bitsPerSample;
  const linear = (format === PCM && [8, 16, 24, 32].includes(bits)) || (format === IEEE_FLOAT && (bits === 32 || bits === 64));
  if (!linear) {
    const name = FORMAT_NAMES[format] ?? (format === PCM ? `${bits}-bit PCM` : format === IEEE_FLOAT ? `${bits}-bit float` : `format code ${format}`);
    throw new WavDecodeError('unsupported-encoding', `the WAV file is encoded as ${name}; send linear PCM (8, 16, 24 or 32 bits) or IEEE float (32 or 64 bits)`);
  }
  const data = wav.data as { chunkSize: number; samples: Uint8Array };
  if (data.samples.length < data.chunkSize) {
    throw new WavDecodeError('unreadable', `the WAV file is truncated: its data chunk declares ${data.chunkSize} bytes but ${data.samples.length} follow`);
  }
  if (fmt.numChannels < 1 || data.samples.length === 0) throw new WavDecodeError('unreadable', 'the WAV file holds no samples');
  if (fmt.sampleRate !== clip.sampleRate) wav.toSampleRate(clip.sampleRate, { method: 'cubic' });
  const channels = (fmt.numChannels === 1 ? [wav.getSamples(false, Float64Array)] : wav.getSamples(false, Float64Array)) as unknown as Float64Array[];
  // PCM samples come back as integers of their bit depth (8-bit ones unsigned, around 128).
  const [scale, offset] = format === IEEE_FLOAT ? [1, 0] : bits === 8 ? [1 / 128, -128] : [1 / 2 ** (bits - 1), 0];
  const out = new Float32Array(clip.samples);
  const length = Math.min(clip.samples, channels[0]!.length);
  for (let i = 0; i < length; i++) {
    let sum = 0;
    for (const channel of channels) sum += channel[i]!;
    out[i] = (sum / channels.length + offset) * scale;
  }
  return out;
}

/** Mono float samples -> 16-bit PCM WAV bytes: what the tests and the bench make their clips with. */
export function encodeWav16(samples: Float32Array, sampleRate: number): Uint8Array {
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, sampleRate, '16', Int16Array.from(samples, (v) => Math.round(Math.max(-1, Math.min(1, v)) * 32767)));
  return wav.toBuffer();
}
