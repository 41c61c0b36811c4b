/**
 * A language model served (algorithm=language-model): Hugging Face's text-generation request
 * (text-generation-request.ts) in, `[{"generated_text": "..."}]` out, one generation loop with
 * the KV cache per prompt (models/generation.ts) over the artifact's model.onnx, config.json and
 * tokenizer.json. Concurrent requests share the one ONNX Runtime session.
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
import { CausalDecoder } from '../models/generation-decoder.ts';
import { CONFIG_FILE, parseDecoderConfig, type DecoderConfig } from '../models/gpt-config.ts';
import { parseTokenizerJson } from '../text/tokenizer-json.ts';
import type { Tokenizer } from '../text/tokenizer.ts';
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
    private readonly decoder: CausalDecoder,
    private readonly tokenizer: Tokenizer,
    private readonly config: DecoderConfig,
    readonly maxNewTokensLimit: number,
  ) {}

  static async fromArtifact(
    artifact: LoadedArtifact & { readonly description: LanguageModelDescription },
    options: ServedModelOptions,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<TextGenerationModel> {
    const limit = maxNewTokensLimit(env);
    const text = (name: string): string => {
      const bytes = artifact.files.get(name);
      if (bytes === undefined) throw new Error(`the language model in ${artifact.dir} has no ${name}`);
      return new TextDecoder().decode(bytes);
    };
    const config = parseDecoderConfig(text(CONFIG_FILE), `${artifact.dir}/${CONFIG_FILE}`);
    const tokenizer = parseTokenizerJson(text(artifact.description.tokenizer.file), `${artifact.dir}/${artifact.description.tokenizer.file}`);
    if (tokenizer.vocabSize > config.vocabSize) throw new Error(`${artifact.dir}: tokenizer.json has ${tokenizer.vocabSize} tokens, more than config.json's vocab_size ${config.vocabSize}`);
    const decoder = await CausalDecoder.create(
      artifact.onnx,
      { nLayer: config.nLayer, nHead: config.nHead, headDim: config.nEmbd / config.nHead, vocabSize: config.vocabSize, contextLength: config.contextLength },
      options.threads === undefined ? {} : { intraOpNumThreads: options.threads },
    );
    return new TextGenerationModel(artifact.description, artifact.manifest, decoder, tokenizer, config, limit);
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
    // An empty prompt starts from <|endoftext|>, as GPT-2 begins a text.
    const ids = prompt === '' && this.config.eosTokenId !== null ? [this.config.eosTokenId] : this.tokenizer.encode(prompt);
    try {
      const result = await generate(this.decoder, this.tokenizer, ids, {
        maxNewTokens: p.maxNewTokens,
        doSample: p.doSample,
        temperature: p.temperature,
        topK: p.topK,
        topP: p.topP,
        seed: p.seed ?? randomInt(0, 2 ** 32),
        stop: p.stop,
        eosTokenId: this.config.eosTokenId,
        overflow: 'slide',
      });
      return p.returnFullText ? prompt + result.text : result.text;
    } catch (error) {
      if (error instanceof GenerationRequestError) throw badRequest(error.message);
      throw error;
    }
  }

  close(): Promise<void> {
    return this.decoder.release();
  }
}

function maxNewTokensLimit(env: NodeJS.ProcessEnv): number {
  const text = env[MAX_NEW_TOKENS_ENV];
  if (text === undefined || text === '') return DEFAULT_MAX_NEW_TOKENS_LIMIT;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error(`${MAX_NEW_TOKENS_ENV}=${JSON.stringify(text)} must be a whole number from 1 to 1000000`);
  return n;
}
