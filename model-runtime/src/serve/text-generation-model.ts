/**
 * A language model served (algorithm=language-model): Hugging Face's text-generation request
 * (text-generation-request.ts) in, `[{"generated_text": "..."}]` out, one generation loop with
 * the KV cache per prompt (models/generation.ts) over the artifact's model.onnx, config.json and
 * tokenizer.json (models/generation-model.ts).
 *
 * Concurrent generations, streamed or not, share decoder runs (continuous batching,
 * models/generation-scheduler.ts): each joins the running batch between steps and leaves when it
 * ends or its client goes, with the tokens it would get alone. Past the batch's bounds requests
 * queue; past the queue they are answered 429 with Retry-After (generation-batching.ts).
 *
 * When prompt plus max_new_tokens exceed the context length the window slides; a prompt longer
 * than the context itself is a 400 that says both lengths. max_new_tokens is capped per endpoint
 * (MODEL_RUNTIME_MAX_NEW_TOKENS, default 256) so one request cannot outlast the 60 s limit.
 *
 * A generation ends on any of the model's eos ids (generation_config.json's, else config.json's),
 * and the parameters a request leaves out take generation_config.json's values where it has them.
 *
 * `"details": true` adds TGI's details to each answer (text-generation-details.ts); `truncate`
 * keeps the prompt's last N tokens (return_full_text still puts the whole prompt before the text,
 * as TGI does).
 *
 * `"stream": true` answers a token at a time in TGI's shape (text-generation-stream.ts), as JSON
 * Lines, or as Server-Sent Events when Accept asks for text/event-stream.
 */
import { randomInt } from 'node:crypto';
import type { Manifest } from '../artifact/digest.ts';
import type { LoadedArtifact } from '../artifact/load.ts';
import type { LanguageModelDescription, PretrainedModelDescription } from '../artifact/model-description.ts';
import { GenerationRequestError, type GeneratedToken, type GenerationResult, type GenerationSettings } from '../models/generation.ts';
import { loadGenerationModel, pretrainedTokenizer, promptIds, type GenerationModel } from '../models/generation-model.ts';
import { GenerationScheduler, SchedulerFullError } from '../models/generation-scheduler.ts';
import { batchFullResponse, batchLimitsFromEnv } from './generation-batching.ts';
import { badRequest, HttpError } from './http-error.ts';
import { CSV_TYPE, JSON_TYPE } from './media-types.ts';
import { readsRequest, TEXT_GENERATION_CONTENT_TYPES } from './served-content-types.ts';
import type { InvocationAnswer, InvocationRequest, ServedModel, ServedModelOptions, StreamedInvocationAnswer } from './served-model.ts';
import { tgiDetails, type TgiDetails } from './text-generation-details.ts';
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
    readonly scheduler: GenerationScheduler,
  ) {}

  static async fromArtifact(
    artifact: LoadedArtifact & { readonly description: LanguageModelDescription | PretrainedModelDescription },
    options: ServedModelOptions,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<TextGenerationModel> {
    const limit = maxNewTokensLimit(env);
    const batchLimits = batchLimitsFromEnv(env);
    const model = await loadGenerationModel(
      { dir: artifact.dir, onnx: artifact.onnx, files: artifact.files, tokenizerFile: artifact.description.tokenizer.file, tokenizer: pretrainedTokenizer(artifact) },
      options.threads === undefined ? {} : { intraOpNumThreads: options.threads },
    );
    return new TextGenerationModel(artifact.description, artifact.manifest, model, limit, new GenerationScheduler(model.decoder, model.tokenizer, batchLimits));
  }

  /** Decoder runs so far: one per prompt and per slide of a window, plus one per step of the whole batch. */
  get runs(): number {
    return this.model.decoder.steps;
  }

  async invoke(body: Uint8Array, request: InvocationRequest): Promise<InvocationAnswer | StreamedInvocationAnswer> {
    if (!readsRequest(TEXT_GENERATION_CONTENT_TYPES, request.contentType)) throw new HttpError(415, 'UnsupportedMediaType', `a text-generation request is JSON ({"inputs": "a prompt", "parameters": {...}}); got Content-Type ${request.contentType}`);
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    const { prompts, batched, parameters, stream } = parseTextGenerationRequest(text, this.maxNewTokensLimit, this.model.generation.defaults);
    if (stream) {
      // A stream is JSON Lines (Accept JSON, JSON Lines or none) or Server-Sent Events.
      if (request.accept === CSV_TYPE) throw new HttpError(406, 'NotAcceptable', `a streamed text generation is JSON Lines, or Server-Sent Events with Accept: text/event-stream; ${request.accept} is not available`);
      return this.stream(prompts[0]!, parameters, request.eventStream ? 'server-sent-events' : 'json-lines');
    }
    if (request.eventStream) throw new HttpError(406, 'NotAcceptable', 'text/event-stream is the format of a streamed answer: add "stream": true to the body, or accept application/json');
    if (request.accept !== JSON_TYPE) throw new HttpError(406, 'NotAcceptable', `a text-generation answer is JSON ([{"generated_text": ...}]); ${request.accept} is not available`);
    const answers = await this.generateAll(prompts, parameters);
    return { contentType: JSON_TYPE, body: JSON.stringify(batched ? answers.map((a) => [a]) : answers), log: { rows: prompts.length } };
  }

  /** The continuations of the prompts (after each prompt with return_full_text), with details when asked, generated together; one failing stops the others. */
  async generateAll(prompts: readonly string[], p: TextGenerationParameters): Promise<GenerationAnswer[]> {
    const seeds = prompts.map(() => p.seed ?? randomInt(0, 2 ** 32));
    const generations = prompts.map((prompt, i) => this.tokens(prompt, p, seeds[i]!));
    try {
      return await Promise.all(generations.map(async (tokens, i): Promise<GenerationAnswer> => {
        const seen: GeneratedToken[] = [];
        for (;;) {
          const next = await tokens.next();
          if (next.done !== true) {
            if (p.details) seen.push(next.value);
            continue;
          }
          const generated_text = p.returnFullText ? prompts[i]! + next.value.text : next.value.text;
          if (!p.details) return { generated_text };
          return { generated_text, details: tgiDetails(seen, next.value.finishReason, p.doSample ? seeds[i]! : null, (id) => this.model.tokenizer.decode([id])) };
        }
      }));
    } catch (error) {
      await Promise.allSettled(generations.map((tokens) => tokens.return(undefined as never)));
      throw error;
    }
  }

  /** One prompt's tokens as they are generated: this request's own iterator over the shared batch. */
  private stream(prompt: string, p: TextGenerationParameters, framing: StreamFraming): StreamedInvocationAnswer {
    const seed = p.seed ?? randomInt(0, 2 ** 32);
    return {
      contentType: STREAM_CONTENT_TYPES[framing],
      chunks: tgiStream(this.tokens(prompt, p, seed), { framing, prefix: p.returnFullText ? prompt : '', seed: p.doSample ? seed : null, specialText: (id) => this.model.tokenizer.decode([id]) }),
      failure: (error) => tgiStreamError(framing, error),
      log: { rows: 1 },
    };
  }

  /** Checked now (a 400 for what cannot be generated, a prompt the tokenizer refuses among them); joins the batch, or a 429 when it is full, on the first pull. */
  private tokens(prompt: string, p: TextGenerationParameters, seed: number): AsyncGenerator<GeneratedToken, GenerationResult, undefined> {
    try {
      const ids = promptIds(this.model, prompt);
      // TGI's truncate: the prompt's last N tokens, the oldest dropped.
      const kept = p.truncate !== null && ids.length > p.truncate ? ids.slice(ids.length - p.truncate) : ids;
      return refusalsAsHttpErrors(this.scheduler.generate(kept, this.settings(p, seed)));
    } catch (error) {
      throw error instanceof GenerationRequestError ? badRequest(error.message) : error;
    }
  }

  private settings(p: TextGenerationParameters, seed: number): GenerationSettings {
    return {
      maxNewTokens: p.maxNewTokens,
      doSample: p.doSample,
      temperature: p.temperature,
      topK: p.topK,
      topP: p.topP,
      repetitionPenalty: p.repetitionPenalty,
      frequencyPenalty: p.frequencyPenalty,
      seed,
      stop: p.stop,
      eosTokenIds: this.model.generation.eosTokenIds,
      overflow: 'slide',
    };
  }

  close(): Promise<void> {
    return this.model.decoder.release();
  }
}

/** One prompt's answer in TGI's shape; details only when the request asked. */
interface GenerationAnswer {
  readonly generated_text: string;
  readonly details?: TgiDetails;
}

/** A full batch and queue (on the first pull) as a 429 with Retry-After. */
async function* refusalsAsHttpErrors(tokens: AsyncGenerator<GeneratedToken, GenerationResult, undefined>): AsyncGenerator<GeneratedToken, GenerationResult, undefined> {
  try {
    return yield* tokens;
  } catch (error) {
    if (error instanceof SchedulerFullError) throw batchFullResponse(error);
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
