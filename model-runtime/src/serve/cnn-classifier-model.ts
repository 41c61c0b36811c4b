/**
 * A CNN classifier served (image-classifier, audio-classifier): one image or one clip per
 * request, decoded here, classified by model.onnx (whose graph normalises the pixels or computes
 * the spectrogram), answered as the top_k classes `[{"label": "cat", "score": 0.93}, ...]`.
 *
 *   image-classifier   image/png, image/jpeg (one image, any size: resized), or JSON: the pixels
 *                      as nested arrays (height, width, channels) in 0..255, (height, width) when grayscale
 *   audio-classifier   audio/wav, audio/x-wav (16-bit PCM or float, any rate, stereo mixed down),
 *                      or JSON: an array of mono samples in -1..1 at the model's sample rate
 *
 * A body that is not what the model reads is a named 4xx: InvalidImage, InvalidAudio (400),
 * UnsupportedMediaType, UnsupportedAudioEncoding (415).
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import type { Manifest } from '../artifact/digest.ts';
import type { LoadedArtifact } from '../artifact/load.ts';
import type { CnnModelDescription } from '../artifact/model-description.ts';
import { ImageDecodeError, decodeImage, type ImageShape } from '../data/image-decode.ts';
import { WavDecodeError, decodeWav } from '../data/wav-decode.ts';
import { createSession } from '../engine/session.ts';
import { AUDIO_INPUT } from '../models/audio-classifier.ts';
import { CLASS_PROBABILITIES } from '../models/conv-classifier.ts';
import { IMAGE_INPUT } from '../models/image-classifier.ts';
import { HttpError } from './http-error.ts';
import { jsonNumber, jsonString } from './json-text.ts';
import { JPEG_TYPE, JSON_TYPE, PNG_TYPE, WAV_TYPE, type RequestMediaType } from './media-types.ts';
import { AUDIO_CONTENT_TYPES, IMAGE_CONTENT_TYPES, readsRequest, writesResponse } from './served-content-types.ts';
import type { InvocationAnswer, InvocationRequest, ServedModel, ServedModelOptions } from './served-model.ts';

/** One request body -> the example model.onnx reads, (exampleShape) row-major; throws an HttpError. */
type BodyDecoder = (body: Uint8Array, type: RequestMediaType) => Promise<Float32Array>;

export class CnnClassifierModel implements ServedModel {
  runs = 0;
  private readonly inputName: string;
  private readonly exampleShape: readonly number[];
  private readonly decodeBody: BodyDecoder;

  private constructor(
    readonly description: CnnModelDescription,
    readonly manifest: Manifest,
    private readonly session: ort.InferenceSession,
  ) {
    if (description.algorithm === 'image-classifier') {
      const { height, width, channels } = description.image;
      this.inputName = IMAGE_INPUT;
      this.exampleShape = [height, width, channels];
      this.decodeBody = imageDecoder({ height, width, channels });
    } else {
      this.inputName = AUDIO_INPUT;
      this.exampleShape = [description.audio.clipSamples];
      this.decodeBody = audioDecoder(description.audio.sampleRate, description.audio.clipSamples);
    }
  }

  static async fromArtifact(artifact: LoadedArtifact & { readonly description: CnnModelDescription }, options: ServedModelOptions): Promise<CnnClassifierModel> {
    const session = await createSession(artifact.onnx, { intraOpNumThreads: options.threads ?? Math.max(1, os.availableParallelism()) });
    const model = new CnnClassifierModel(artifact.description, artifact.manifest, session);
    for (const [names, name, what] of [
      [session.inputNames, model.inputName, 'input'],
      [session.outputNames, CLASS_PROBABILITIES, 'output'],
    ] as const) {
      if (!names.includes(name)) {
        await session.release();
        throw new Error(`model.onnx has no ${what} named '${name}' (it has ${names.join(', ')}); a ${artifact.description.algorithm} reads ${model.inputName} and writes ${CLASS_PROBABILITIES}`);
      }
    }
    return model;
  }

  async invoke(body: Uint8Array, request: InvocationRequest): Promise<InvocationAnswer> {
    // The body's format first: a CSV body (whose answer would default to CSV) is a 415, not a 406.
    const example = await this.decodeBody(body, request.contentType);
    if (!writesResponse(this.description.algorithm === 'image-classifier' ? IMAGE_CONTENT_TYPES : AUDIO_CONTENT_TYPES, request.accept)) {
      throw new HttpError(406, 'NotAcceptable', `a ${this.description.algorithm} answers ${JSON_TYPE} ([{"label", "score"}, ...]), not ${request.accept}`);
    }
    this.runs += 1;
    const results = await this.session.run({ [this.inputName]: new ort.Tensor('float32', example, [1, ...this.exampleShape]) }, [CLASS_PROBABILITIES]);
    const probabilities = results[CLASS_PROBABILITIES]!.data as Float32Array; // (1, K)
    return { contentType: JSON_TYPE, body: topClasses(probabilities, this.description.labels, this.description.topK), log: { rows: 1 } };
  }

  close(): Promise<void> {
    return this.session.release();
  }
}

/** `[{"label": ..., "score": ...}, ...]` for the k most probable classes, most probable first. */
function topClasses(probabilities: Float32Array, labels: readonly string[], k: number): string {
  const order = Array.from(labels, (_, i) => i).sort((a, b) => probabilities[b]! - probabilities[a]! || a - b);
  return `[${order.slice(0, k).map((i) => `{"label":${jsonString(labels[i]!)},"score":${jsonNumber(probabilities[i]!)}}`).join(',')}]`;
}

const unsupported = (what: string, type: string, reads: string): HttpError =>
  new HttpError(415, 'UnsupportedMediaType', `this ${what} model reads ${reads}, not ${type}`);

function imageDecoder(shape: ImageShape): BodyDecoder {
  const reads = `${PNG_TYPE}, ${JPEG_TYPE} or ${JSON_TYPE} (pixels as nested arrays)`;
  return async (body, type) => {
    if (type === JSON_TYPE) return pixelsFromJson(parseJson(body, 'InvalidImage'), shape);
    if (!readsRequest(IMAGE_CONTENT_TYPES, type)) throw unsupported('image', type, reads);
    try {
      return await decodeImage(body, shape, { format: type === PNG_TYPE ? 'png' : 'jpeg' });
    } catch (error) {
      if (!(error instanceof ImageDecodeError)) throw error;
      if (error.kind === 'unsupported-format') throw new HttpError(415, 'UnsupportedMediaType', error.message);
      throw new HttpError(400, 'InvalidImage', error.message);
    }
  };
}

function audioDecoder(sampleRate: number, samples: number): BodyDecoder {
  const reads = `${WAV_TYPE} (or audio/x-wav) or ${JSON_TYPE} (an array of samples)`;
  return async (body, type) => {
    if (type === JSON_TYPE) return samplesFromJson(parseJson(body, 'InvalidAudio'), samples, sampleRate);
    if (!readsRequest(AUDIO_CONTENT_TYPES, type)) throw unsupported('audio', type, reads);
    try {
      return decodeWav(body, { sampleRate, samples });
    } catch (error) {
      if (!(error instanceof WavDecodeError)) throw error;
      if (error.kind === 'unsupported-encoding') throw new HttpError(415, 'UnsupportedAudioEncoding', error.message);
      throw new HttpError(400, 'InvalidAudio', error.message);
    }
  };
}

function parseJson(body: Uint8Array, type: string): unknown {
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, type, `the body is not valid JSON (${(error as Error).message})`);
  }
}

/** (H, W, C) nested arrays of 0..255, or (H, W) for a grayscale model -> the flat pixels. */
function pixelsFromJson(value: unknown, { height, width, channels }: ImageShape): Float32Array {
  const expected = channels === 1 ? `${height} rows of ${width} pixel values (or of [value] arrays)` : `${height} rows of ${width} pixels of ${channels} values`;
  const bad = (problem: string): HttpError => new HttpError(400, 'InvalidImage', `${problem}; this model reads a JSON array of ${expected}, each 0 to 255`);
  if (!Array.isArray(value)) throw bad('the body is not a JSON array');
  if (value.length !== height) throw bad(`the image has ${value.length} rows`);
  const out = new Float32Array(height * width * channels);
  value.forEach((row: unknown, y) => {
    if (!Array.isArray(row) || row.length !== width) throw bad(`row ${y} has ${Array.isArray(row) ? row.length : 'no'} pixels`);
    row.forEach((pixel: unknown, x) => {
      const values = Array.isArray(pixel) ? pixel : channels === 1 ? [pixel] : null;
      if (values === null || values.length !== channels) {
        throw bad(`pixel (${y}, ${x}) has ${Array.isArray(pixel) ? values?.length : 1} channel value${Array.isArray(pixel) && pixel.length === 1 ? '' : 's'}, but this model reads ${channels === 1 ? 'grayscale' : 'RGB'} images`);
      }
      values.forEach((v: unknown, c) => {
        if (typeof v !== 'number' || !(v >= 0 && v <= 255)) throw bad(`pixel (${y}, ${x}) channel ${c} is ${JSON.stringify(v)}`);
        out[(y * width + x) * channels + c] = v;
      });
    });
  });
  return out;
}

/** An array of mono samples -> one clip, cut or padded with silence. */
function samplesFromJson(value: unknown, samples: number, sampleRate: number): Float32Array {
  const bad = (problem: string): HttpError => new HttpError(400, 'InvalidAudio', `${problem}; this model reads a JSON array of mono samples in -1..1 at ${sampleRate} Hz (${samples} per clip)`);
  if (!Array.isArray(value) || value.length === 0) throw bad('the body is not a non-empty JSON array');
  const out = new Float32Array(samples);
  for (let i = 0; i < Math.min(samples, value.length); i++) {
    const v: unknown = value[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`sample ${i} is ${JSON.stringify(v)}`);
    out[i] = v;
  }
  return out;
}
