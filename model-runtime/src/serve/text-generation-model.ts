/**
 * A language model served (algorithm=language-model): Hugging Face's text-generation request
 * (text-generation-request.ts) in, `[{"generated_text": "..."}]` out, one generation loop with
 * the KV cache per prompt (models/generation.ts) over the artifact's model.onnx, config.json and
 * tokenizer.json (models/generation-model.ts). Concurrent requests share the one ONNX Runtime session.
 *
 * When prompt plus max_new_tokens exceed the context length the window slides; a prompt longer
 * than the context itself is a 400 that says both lengths. max_new_tokens is capped per endpoint
 * (MODEL_RUNTIME_MAX_NEW_TOKENS, default 256) so one request cannot outlast the 60 s limit.
 *
 * `"stream": true` answers a token at a time in TGI's shape (text-generation-stream.ts), as JSON
 * Lines, or as Server-Sent Events when Accept asks for text/event-stream.
 */
import { randomInt } from 'node:crypto';
import type { Manifest } from '../artifact/digest.ts';
import type { LoadedArtifact } from '../artifact/load.ts';
import type { LanguageModelDescription, PretrainedModelDescription } from '../artifact/model-description.ts';
import { generate, generateTokens, GenerationRequestError, type GeneratedToken, type GenerationResult, type GenerationSettings } from '../models/generation.ts';
import { loadGenerationModel, pretrainedTokenizer, promptIds, type GenerationModel } from '../models/generation-model.ts';
import { badRequest, HttpError } from './http-error.ts';
import { CSV_TYPE, JSON_TYPE } from './media-types.ts';
import type { InvocationAnswer, InvocationRequest, ServedModel, ServedModelOptions, StreamedInvocationAnswer } from './served-model.ts';
import { parseTextGenerationRequest, type TextGenerationParameters } from './text-generation-request.ts';
import { STREAM_CONTENT_TYPES, tgiStream, tgiStreamError, type StreamFraming } from './text-generation-stream.ts';

export const MAX_NEW_TOKENS_ENV = 'MODEL_RUNTIME_MAX_NEW_TOKENS';
const DEFAULT_MAX_NEW_TOKENS_LIMIT = 256;

export class TextGenerationModel implements ServedModel {
  private constructor(
    readonly description: LanguageModelDescription | PretrainedModelDescription,
    readonly manifest: Manifest,
    private readonly model: GenerationModel,
    readonly maxNewTokensLimit: number,
  ) {}

  static async fromArtifact(
    artifact: LoadedArtifact & { readonly description: LanguageModelDescription | PretrainedModelDescription },
    options: ServedModelOptions,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<TextGenerationModel> {
    const limit = maxNewTokensLimit(env);
    const model = await loadGenerationModel(
      { dir: artifact.dir, onnx: artifact.onnx, files: artifact.files, tokenizerFile: artifact.description.tokenizer.file, tokenizer: pretrainedTokenizer(artifact) },
      options.threads === undefined ? {} : { intraOpNumThreads: options.threads },
    );
    return new TextGenerationModel(artifact.description, artifact.manifest, model, limit);
  }

  /** Decoder steps so far (one per new token, plus one per prompt and per slide of the window). */
  get runs(): number {
    return this.model.decoder.steps;
  }

  async invoke(body: Uint8Array, request: InvocationRequest): Promise<InvocationAnswer | StreamedInvocationAnswer> {
    if (request.contentType !== JSON_TYPE) throw new HttpError(415, 'UnsupportedMediaType', `a text-generation request is JSON ({"inputs": "a prompt", "parameters": {...}}); got Content-Type ${request.contentType}`);
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    const { prompts, batched, parameters, stream } = parseTextGenerationRequest(text, this.maxNewTokensLimit);
    if (stream) {
      // A stream is JSON Lines (Accept JSON, JSON Lines or none) or Server-Sent Events.
      if (request.accept === CSV_TYPE) throw new HttpError(406, 'NotAcceptable', `a streamed text generation is JSON Lines, or Server-Sent Events with Accept: text/event-stream; ${request.accept} is not available`);
      return this.stream(prompts[0]!, parameters, request.eventStream ? 'server-sent-events' : 'json-lines');
    }
    if (request.eventStream) throw new HttpError(406, 'NotAcceptable', 'text/event-stream is the format of a streamed answer: add "stream": true to the body, or accept application/json');
    if (request.accept !== JSON_TYPE) throw new HttpError(406, 'NotAcceptable', `a text-generation answer is JSON ([{"generated_text": ...}]); ${request.accept} is not available`);
    const answers: { generated_text: string }[] = [];
    for (const prompt of prompts) answers.push({ generated_text: await this.generateOne(prompt, parameters) });
    return { contentType: JSON_TYPE, body: JSON.stringify(batched ? answers.map((a) => [a]) : answers), log: { rows: prompts.length } };
  }

  /** The continuation of one prompt (after the prompt with return_full_text). */
  async generateOne(prompt: string, p: TextGenerationParameters): Promise<string> {
    const { decoder, tokenizer } = this.model;
    try {
      const result = await generate(decoder, tokenizer, promptIds(this.model, prompt), this.settings(p, p.seed ?? randomInt(0, 2 ** 32)));
      return p.returnFullText ? prompt + result.text : result.text;
    } catch (error) {
      if (error instanceof GenerationRequestError) throw badRequest(error.message);
      throw error;
    }
  }

  /** One prompt's tokens as they are generated: this request's own iterator over the decoder. */
  private stream(prompt: string, p: TextGenerationParameters, framing: StreamFraming): StreamedInvocationAnswer {
    const seed = p.seed ?? randomInt(0, 2 ** 32);
    const tokens = refusalsAsBadRequests(generateTokens(this.model.decoder, this.model.tokenizer, asBadRequest(() => promptIds(this.model, prompt)), this.settings(p, seed)));
    return {
      contentType: STREAM_CONTENT_TYPES[framing],
      chunks: tgiStream(tokens, { framing, prefix: p.returnFullText ? prompt : '', seed: p.doSample ? seed : null, specialText: (id) => this.model.tokenizer.decode([id]) }),
      failure: (error) => tgiStreamError(framing, error),
      log: { rows: 1 },
    };
  }

  private settings(p: TextGenerationParameters, seed: number): GenerationSettings {
    return {
      maxNewTokens: p.maxNewTokens,
      doSample: p.doSample,
      temperature: p.temperature,
      topK: p.topK,
      topP: p.topP,
      seed,
      stop: p.stop,
      eosTokenId: this.model.config.eosTokenId,
      overflow: 'slide',
    };
  }

  close(): Promise<void> {
    return this.model.decoder.release();
  }
}

/** The generation's refusals of the request (a prompt longer than the context) as 400s; they come with its first step. */
async function* refusalsAsBadRequests(tokens: AsyncGenerator<GeneratedToken, GenerationResult, undefined>): AsyncGenerator<GeneratedToken, GenerationResult, undefined> {
  try {
    return yield* tokens;
  } catch (error) {
    if (error instanceof GenerationRequestError) throw badRequest(error.message);
    throw error;
  }
}

/** `work`'s result, its GenerationRequestError (a prompt the tokenizer refuses) as a 400. */
function asBadRequest<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof GenerationRequestError) throw badRequest(error.message);
    throw error;
  }
}

function maxNewTokensLimit(env: NodeJS.ProcessEnv): number {
  const text = env[MAX_NEW_TOKENS_ENV];
  if (text === undefined || text === '') return DEFAULT_MAX_NEW_TOKENS_LIMIT;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error(`${MAX_NEW_TOKENS_ENV}=${JSON.stringify(text)} must be a whole number from 1 to 1000000`);
  return n;
}
