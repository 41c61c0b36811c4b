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
 *
 * A body with OpenAI's `messages` instead of `inputs` is a chat request (chat-request.ts): the
 * export's chat template (text/chat-template.ts) renders the prompt, which is tokenized without
 * the tokenizer's own special tokens (the template writes them), and the answer is OpenAI's chat
 * completion, or its chunks as Server-Sent Events with `"stream": true` (chat-completion.ts),
 * generated in the same batch as every other request.
 */
import { randomInt } from 'node:crypto';
import type { Manifest } from '../artifact/digest.ts';
import type { LoadedArtifact } from '../artifact/load.ts';
import type { LanguageModelDescription, PretrainedModelDescription } from '../artifact/model-description.ts';
import { GenerationRequestError, type GeneratedToken, type GenerationResult, type GenerationSettings } from '../models/generation.ts';
import { loadGenerationModel, pretrainedTokenizer, promptIds, type GenerationModel } from '../models/generation-model.ts';
import { TOKENIZER_CONFIG_FILE } from '../models/pretrained-export.ts';
import { CHAT_TEMPLATE_FILE, CHAT_TEMPLATE_SOURCES, ChatTemplate, ChatTemplateError } from '../text/chat-template.ts';
import type { PretrainedTokenizer } from '../text/pretrained-tokenizer.ts';
import { GenerationScheduler, SchedulerFullError } from '../models/generation-scheduler.ts';
import { chatCompletion, chatCompletionIdentity, chatCompletionStream } from './chat-completion.ts';
import { isChatBody, parseChatRequest } from './chat-request.ts';
import { batchFullResponse, batchLimitsFromEnv } from './generation-batching.ts';
import { badRequest, HttpError } from './http-error.ts';
import { CSV_TYPE, EVENT_STREAM_TYPE, JSON_TYPE } from './media-types.ts';
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
    /** The export's chat template and its tokenizer, for chat requests; null: the model has none. */
    private readonly chat: { readonly template: ChatTemplate; readonly tokenizer: PretrainedTokenizer; readonly modelName: string } | null,
  ) {}

  static async fromArtifact(
    artifact: LoadedArtifact & { readonly description: LanguageModelDescription | PretrainedModelDescription },
    options: ServedModelOptions,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<TextGenerationModel> {
    const limit = maxNewTokensLimit(env);
    const batchLimits = batchLimitsFromEnv(env);
    const tokenizer = pretrainedTokenizer(artifact);
    // Only a pretrained export can carry a chat template (this runtime's own language model has none).
    const template = tokenizer === undefined ? null : ChatTemplate.fromFiles({ chatTemplateJinja: fileText(artifact.files, CHAT_TEMPLATE_FILE), tokenizerConfigJson: fileText(artifact.files, TOKENIZER_CONFIG_FILE), source: artifact.dir });
    const model = await loadGenerationModel(
      { dir: artifact.dir, onnx: artifact.onnx, files: artifact.files, tokenizerFile: artifact.description.tokenizer.file, tokenizer },
      options.threads === undefined ? {} : { intraOpNumThreads: options.threads },
    );
    // The answer's "model" when a request names none: config.json's model_type, as packaged.
    const modelName = 'modelType' in artifact.description ? artifact.description.modelType : artifact.description.algorithm;
    const chat = template === null || tokenizer === undefined ? null : { template, tokenizer, modelName };
    return new TextGenerationModel(artifact.description, artifact.manifest, model, limit, new GenerationScheduler(model.decoder, model.tokenizer, batchLimits), chat);
  }

  /** Decoder runs so far: one per prompt and per slide of a window, plus one per step of the whole batch. */
  get runs(): number {
    return this.model.decoder.steps;
  }

  async invoke(body: Uint8Array, request: InvocationRequest): Promise<InvocationAnswer | StreamedInvocationAnswer> {
    if (!readsRequest(TEXT_GENERATION_CONTENT_TYPES, request.contentType)) throw new HttpError(415, 'UnsupportedMediaType', `a text-generation request is JSON ({"inputs": "a prompt", "parameters": {...}}, or a chat's {"messages": [...]}); got Content-Type ${request.contentType}`);
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    const chatBody = parsedOrUndefined(text);
    if (isChatBody(chatBody)) return this.chatCompletion(chatBody, request);
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

  /** An OpenAI chat request: the template's prompt, answered as a chat completion or its chunks. */
  private async chatCompletion(body: Record<string, unknown>, request: InvocationRequest): Promise<InvocationAnswer | StreamedInvocationAnswer> {
    const { messages, parameters, stream, includeUsage, model } = parseChatRequest(body, this.maxNewTokensLimit, this.model.generation.defaults);
    if (this.chat === null) throw badRequest(`this model has no chat template (${CHAT_TEMPLATE_SOURCES} in the export it was packaged from), so it cannot take "messages"; send {"inputs": "a prompt"} instead`);
    if (stream && request.accept === CSV_TYPE) throw new HttpError(406, 'NotAcceptable', `a streamed chat completion is Server-Sent Events; ${request.accept} is not available`);
    if (!stream && request.eventStream) throw new HttpError(406, 'NotAcceptable', 'text/event-stream is the format of a streamed answer: add "stream": true to the body, or accept application/json');
    if (!stream && request.accept !== JSON_TYPE) throw new HttpError(406, 'NotAcceptable', `a chat completion is JSON; ${request.accept} is not available`);
    let rendered: string;
    try {
      rendered = this.chat.template.render(messages);
    } catch (error) {
      throw error instanceof ChatTemplateError ? badRequest(error.message) : error;
    }
    const ids = this.chat.tokenizer.encodeRendered(rendered);
    const identity = chatCompletionIdentity(model ?? this.chat.modelName);
    const tokens = this.tokensOf(ids, parameters, parameters.seed ?? randomInt(0, 2 ** 32));
    if (stream) {
      const options = { promptTokens: ids.length, stops: parameters.stop, includeUsage };
      return { contentType: EVENT_STREAM_TYPE, chunks: chatCompletionStream(tokens, identity, options), failure: (error) => tgiStreamError('server-sent-events', error), log: { rows: 1 } };
    }
    let generated = 0;
    for (;;) {
      const next = await tokens.next();
      if (next.done !== true) {
        generated++;
        continue;
      }
      return { contentType: JSON_TYPE, body: JSON.stringify(chatCompletion(identity, next.value, generated, ids.length, parameters.stop)), log: { rows: 1 } };
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
      return this.tokensOf(p.truncate !== null && ids.length > p.truncate ? ids.slice(ids.length - p.truncate) : ids, p, seed);
    } catch (error) {
      throw error instanceof GenerationRequestError ? badRequest(error.message) : error;
    }
  }

  /** The tokens after prompt ids (checked now, joining the batch on the first pull). */
  private tokensOf(ids: readonly number[], p: TextGenerationParameters, seed: number): AsyncGenerator<GeneratedToken, GenerationResult, undefined> {
    try {
      return refusalsAsHttpErrors(this.scheduler.generate(ids, this.settings(p, seed)));
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

function fileText(files: ReadonlyMap<string, Uint8Array>, name: string): string | null {
  const bytes = files.get(name);
  return bytes === undefined ? null : new TextDecoder().decode(bytes);
}

/** The body as JSON, or undefined where it is not (the TGI parser then says why). */
function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function maxNewTokensLimit(env: NodeJS.ProcessEnv): number {
  const text = env[MAX_NEW_TOKENS_ENV];
  if (text === undefined || text === '') return DEFAULT_MAX_NEW_TOKENS_LIMIT;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error(`${MAX_NEW_TOKENS_ENV}=${JSON.stringify(text)} must be a whole number from 1 to 1000000`);
  return n;
}
