/**
 * A pretrained BERT class encoder served for sentence embeddings (algorithm=huggingface,
 * task=feature-extraction): texts in (feature-extraction-request.ts), last_hidden_state from the
 * export (token_embeddings when it is a sentence-transformers export), pooled as sentence-transformers' mean pooling does it (the mean of the token vectors
 * whose attention_mask is 1, so padding never moves an embedding), optionally scaled to unit
 * length. The answer lists one embedding per input, as Text Embeddings Inference answers:
 *
 *   {"inputs": "text"}                              [[0.12, -0.03, ...]]
 *   {"inputs": ["a", "b"]}                          [[...], [...]]
 *   ... "parameters": {"pooling": "none"}           [[[token 0], [token 1], ...], ...]  (real tokens only)
 */
import type { Manifest } from '../artifact/digest.ts';
import type { LoadedArtifact } from '../artifact/load.ts';
import type { PretrainedModelDescription } from '../artifact/model-description.ts';
import { hiddenStateOutput } from '../models/pretrained-export.ts';
import { HttpError } from './http-error.ts';
import { JSON_TYPE } from './media-types.ts';
import { JSON_CONTENT_TYPES, readsRequest, writesResponse } from './served-content-types.ts';
import { shortest } from './predictions.ts';
import { parseFeatureExtractionRequest, type FeatureExtractionRequest } from './feature-extraction-request.ts';
import { PretrainedEncoder, TEXTS_PER_RUN, type EncoderRun } from './pretrained-encoder.ts';
import type { InvocationAnswer, InvocationRequest, ServedModel, ServedModelOptions } from './served-model.ts';

export class PretrainedEmbeddingModel implements ServedModel {
  private constructor(
    readonly description: PretrainedModelDescription,
    readonly manifest: Manifest,
    private readonly encoder: PretrainedEncoder,
  ) {}

  static async fromArtifact(artifact: LoadedArtifact & { readonly description: PretrainedModelDescription }, options: ServedModelOptions): Promise<PretrainedEmbeddingModel> {
    return new PretrainedEmbeddingModel(artifact.description, artifact.manifest, await PretrainedEncoder.fromArtifact(artifact, hiddenStateOutput, options));
  }

  get runs(): number {
    return this.encoder.runs;
  }

  async invoke(body: Uint8Array, request: InvocationRequest): Promise<InvocationAnswer> {
    if (!readsRequest(JSON_CONTENT_TYPES, request.contentType)) throw new HttpError(415, 'UnsupportedMediaType', `a feature-extraction request is JSON ({"inputs": "text", "parameters": {"normalize": true}}); got Content-Type ${request.contentType}`);
    if (!writesResponse(JSON_CONTENT_TYPES, request.accept)) throw new HttpError(406, 'NotAcceptable', `embeddings are answered as JSON arrays; ${request.accept} is not available`);
    const parsed = parseFeatureExtractionRequest(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    const encoded = this.encoder.encode(parsed.texts, parsed.truncation);
    const answers: string[] = [];
    for (let start = 0; start < encoded.length; start += TEXTS_PER_RUN) {
      const run = await this.encoder.run(encoded.slice(start, start + TEXTS_PER_RUN));
      for (let row = 0; row < run.dims[0]!; row++) answers.push(JSON.stringify(embedding(run, row, parsed)));
    }
    return { contentType: JSON_TYPE, body: `[${answers.join(',')}]`, log: { rows: answers.length } };
  }

  close(): Promise<void> {
    return this.encoder.close();
  }
}

/** One text's answer from its row of last_hidden_state (n, T, C): the pooled vector, or its tokens' vectors. */
function embedding(run: EncoderRun, row: number, request: FeatureExtractionRequest): number[] | number[][] {
  const width = run.dims[2]!;
  const tokens: Float32Array[] = [];
  for (let t = 0; t < run.length; t++) {
    if (run.mask[row * run.length + t] === 1n) tokens.push(run.output.subarray((row * run.length + t) * width, (row * run.length + t + 1) * width));
  }
  const finish = (v: Float64Array): number[] => Array.from(request.normalize ? unitLength(v) : v, (x) => shortest(Math.fround(x)));
  if (request.pooling === 'none') return tokens.map((v) => finish(Float64Array.from(v)));
  const mean = new Float64Array(width);
  for (const v of tokens) for (let c = 0; c < width; c++) mean[c]! += v[c]!;
  // sentence-transformers divides by the mask's sum clamped to 1e-9; a text has at least one token here.
  for (let c = 0; c < width; c++) mean[c]! /= Math.max(tokens.length, 1e-9);
  return finish(mean);
}

/** v / max(|v|, 1e-12), as torch.nn.functional.normalize. */
function unitLength(v: Float64Array): Float64Array {
  const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x / Math.max(norm, 1e-12));
}
