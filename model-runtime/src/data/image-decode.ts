/**
 * PNG and JPEG bytes -> the pixels a model reads, (H, W, C) float32 in 0..255, by sharp
 * (libvips): decoded, alpha dropped, resized to the model's size (stretched, as SageMaker's
 * image classification resizes) and, when asked, converted to the model's colour channels.
 */
import sharp, { type Metadata, type OutputInfo } from 'sharp';

export interface ImageShape {
  readonly height: number;
  readonly width: number;
  /** 1 (grayscale) or 3 (RGB). */
  readonly channels: number;
}

/** Why bytes are not an image this model can read; `kind` tells a client's mistake from another. */
export class ImageDecodeError extends Error {
  constructor(
    readonly kind: 'unreadable' | 'unsupported-format' | 'channels',
    message: string,
  ) {
    super(message);
    this.name = 'ImageDecodeError';
  }
}

export const IMAGE_FORMATS = ['png', 'jpeg'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export interface DecodeImageOptions {
  /** The format the bytes must be in (a request's Content-Type); any of PNG and JPEG when absent. */
  readonly format?: ImageFormat;
  /**
   * Convert grayscale to RGB or RGB to grayscale instead of refusing an image with other
   * colour channels than the model's (training data of mixed kinds).
   * @default false
   */
  readonly convertChannels?: boolean;
}

const channelName = (c: number): string => (c === 1 ? 'grayscale' : c === 3 ? 'RGB' : `${c}-channel`);

export async function decodeImage(bytes: Uint8Array, shape: ImageShape, options: DecodeImageOptions = {}): Promise<Float32Array> {
  // failOn 'error': a truncated or corrupt file is refused, not decoded with a grey remainder.
  const image = sharp(bytes, { failOn: 'error' });
  let metadata: Metadata;
  try {
    metadata = await image.metadata();
  } catch (error) {
    throw new ImageDecodeError('unreadable', `not a readable PNG or JPEG image (${(error as Error).message})`);
  }
  const format = metadata.format as string;
  if (!(IMAGE_FORMATS as readonly string[]).includes(format)) throw new ImageDecodeError('unsupported-format', `the image is ${format.toUpperCase()}; send PNG or JPEG`);
  if (options.format !== undefined && format !== options.format) {
    throw new ImageDecodeError('unsupported-format', `the body is a ${format.toUpperCase()} image, but its Content-Type says image/${options.format}`);
  }
  const colour = (metadata.channels ?? 0) - (metadata.hasAlpha ? 1 : 0);
  if (colour !== shape.channels && options.convertChannels !== true) {
    throw new ImageDecodeError('channels', `the image is ${channelName(colour)} (${colour} colour channel${colour === 1 ? '' : 's'}), but this model reads ${channelName(shape.channels)} images (${shape.channels})`);
  }
  let pipeline = image.removeAlpha().resize(shape.width, shape.height, { fit: 'fill' });
  // toColourspace also brings 16-bit images down to 8 bits per channel.
  pipeline = pipeline.toColourspace(shape.channels === 1 ? 'b-w' : 'srgb');
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new ImageDecodeError('unreadable', `the ${format.toUpperCase()} image cannot be decoded: it is truncated or corrupt (${(error as Error).message})`);
  }
  if (raw.info.channels !== shape.channels) throw new ImageDecodeError('channels', `the decoded image has ${raw.info.channels} channels, expected ${shape.channels}`);
  return Float32Array.from(raw.data);
}

/** (H, W, C) pixels 0..255 -> PNG bytes: what the tests and the bench draw their images with. */
export async function encodePng(pixels: ArrayLike<number>, shape: ImageShape): Promise<Uint8Array> {
  const raw = Buffer.from(Uint8Array.from(pixels, (v) => Math.max(0, Math.min(255, Math.round(v)))));
  const image = sharp(raw, { raw: { width: shape.width, height: shape.height, channels: shape.channels as 1 | 3 } });
  // Without the colour space, sharp writes a one-channel image as an RGB PNG.
  return new Uint8Array(await image.toColourspace(shape.channels === 1 ? 'b-w' : 'srgb').png().toBuffer());
}
