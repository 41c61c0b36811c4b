/**
 * A language model served (algorithm=language-model): Hugging Face's text-generation request
 * (text-generation-request.ts) in, `[{"generated_text": "..."}]` out, one generation loop with
 * the KV cache per prompt (models/generation.ts) over the artifact's model.onnx, config.json and
 * tokenizer.json (models/generation-model.ts). Concurrent requests share the one ONNX Runtime session.
 *
 * When prompt plus max_new_tokens exceed the context length the window slides; a prompt longer
 * than the context itself is a 400 that says both lengths. max_new_tokens is capped per endpoint
 * (MODEL_RUNTIME_MAX_NEW_TOKENS, default 256) so one request cannot outlast the 60 s limit.
 */
import { randomInt } from 'node:crypto';
import type { Manifest } from '../artifact/digest.ts';
import type { LoadedArtifact } from '../artifact/load.ts';
import type { LanguageModelDescription } from '../artifact/model-description.ts';
import { generate, GenerationRequestError } from '../models/generation.ts';
import { loadGenerationModel, promptIds, type GenerationModel } from '../models/generation-model.ts';
import { badRequest, HttpError } from './http-error.ts';
import { JSON_TYPE } from './media-types.ts';
import type { InvocationAnswer, InvocationRequest, ServedModel, ServedModelOptions } from './served-model.ts';
import { parseTextGenerationRequest, type TextGenerationParameters } from './text-generation-request.ts';

export const MAX_NEW_TOKENS_ENV = 'MODEL_RUNTIME_MAX_NEW_TOKENS';
const DEFAULT_MAX_NEW_TOKENS_LIMIT = 256;

export class TextGenerationModel implements ServedModel {
  private constructor(
    readonly description: LanguageModelDescription,
    readonly manifest: Manifest,
    private readonly model: GenerationModel,
    readonly maxNewTokensLimit: number,
  ) {}

  static async fromArtifact(
    artifact: LoadedArtifact & { readonly description: LanguageModelDescription },
    options: ServedModelOptions,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<TextGenerationModel> {
    const limit = maxNewTokensLimit(env);
    const model = await loadGenerationModel(
      { dir: artifact.dir, onnx: artifact.onnx, files: artifact.files, tokenizerFile: artifact.description.tokenizer.file },
      options.threads === undefined ? {} : { intraOpNumThreads: options.threads },
    );
    return new TextGenerationModel(artifact.description, artifact.manifest, model, limit);
  }

  async invoke(body: Uint8Array, request: InvocationRequest): Promise<InvocationAnswer> {
    if (request.contentType !== JSON_TYPE) throw new HttpError(415, 'UnsupportedMediaType', `a text-generation request is JSON ({"inputs": "a prompt", "parameters": {...}}); got Content-Type ${request.contentType}`);
    if (request.accept !== JSON_TYPE) throw new HttpError(406, 'NotAcceptable', `a text-generation answer is JSON ([{"generated_text": ...}]); ${request.accept} is not available`);
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    const { prompts, batched, parameters } = parseTextGenerationRequest(text, this.maxNewTokensLimit);
    const answers: { generated_text: string }[] = [];
    for (const prompt of prompts) answers.push({ generated_text: await this.generateOne(prompt, parameters) });
    return { contentType: JSON_TYPE, body: JSON.stringify(batched ? answers.map((a) => [a]) : answers), log: { rows: prompts.length } };
  }

  /** The continuation of one prompt (after the prompt with return_full_text). */
  async generateOne(prompt: string, p: TextGenerationParameters): Promise<string> {
    const { decoder, tokenizer, config } = this.model;
    try {
      const result = await generate(decoder, tokenizer, promptIds(this.model, prompt), {
        maxNewTokens: p.maxNewTokens,
        doSample: p.doSample,
        temperature: p.temperature,
        topK: p.topK,
        topP: p.topP,
        seed: p.seed ?? randomInt(0, 2 ** 32),
        stop: p.stop,
        eosTokenId: config.eosTokenId,
        overflow: 'slide',
      });
      return p.returnFullText ? prompt + result.text : result.text;
    } catch (error) {
      if (error instanceof GenerationRequestError) throw badRequest(error.message);
      throw error;
    }
  }

  close(): Promise<void> {
    return this.model.decoder.release();
  }
}

function maxNewTokensLimit(env: NodeJS.ProcessEnv): number {
  const text = env[MAX_NEW_TOKENS_ENV];
  if (text === undefined || text === '') return DEFAULT_MAX_NEW_TOKENS_LIMIT;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error(`${MAX_NEW_TOKENS_ENV}=${JSON.stringify(text)} must be a whole number from 1 to 1000000`);
  return n;
}
