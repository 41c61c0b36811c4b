/**
 * What generating from a language model artifact needs, read from its files: the decoder
 * session over model.onnx, the sizes and eos id from config.json, the tokenizer from
 * tokenizer.json. Serving (serve/text-generation-model.ts) and `modelstack generate` share it.
 */
import type { EngineOptions } from '../engine/session.ts';
import { TokenizerError } from '../text/text-error.ts';
import { parseTokenizerJson } from '../text/tokenizer-json.ts';
import type { Tokenizer } from '../text/tokenizer.ts';
import { CausalDecoder } from './generation-decoder.ts';
import { GenerationRequestError } from './generation.ts';
import { CONFIG_FILE, parseDecoderConfig, type DecoderConfig } from './gpt-config.ts';

export interface GenerationModel {
  readonly decoder: CausalDecoder;
  readonly tokenizer: Tokenizer;
  readonly config: DecoderConfig;
}

export interface GenerationModelFiles {
  /** The folder the files came from, for messages. */
  readonly dir: string;
  readonly onnx: Uint8Array;
  /** Every file by name (config.json and the tokenizer's among them). */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** The tokenizer's file name (model.json's tokenizer.file). */
  readonly tokenizerFile: string;
}

export async function loadGenerationModel(artifact: GenerationModelFiles, engine: EngineOptions = {}): Promise<GenerationModel> {
  const text = (name: string): string => {
    const bytes = artifact.files.get(name);
    if (bytes === undefined) throw new Error(`the language model in ${artifact.dir} has no ${name}`);
    return new TextDecoder().decode(bytes);
  };
  const config = parseDecoderConfig(text(CONFIG_FILE), `${artifact.dir}/${CONFIG_FILE}`);
  const tokenizer = parseTokenizerJson(text(artifact.tokenizerFile), `${artifact.dir}/${artifact.tokenizerFile}`);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new Error(`${artifact.dir}: ${artifact.tokenizerFile} has ${tokenizer.vocabSize} tokens, more than config.json's vocab_size ${config.vocabSize}`);
  }
  const decoder = await CausalDecoder.create(
    artifact.onnx,
    { nLayer: config.nLayer, nHead: config.nHead, headDim: config.nEmbd / config.nHead, vocabSize: config.vocabSize, contextLength: config.contextLength },
    engine,
  );
  return { decoder, tokenizer, config };
}

/**
 * The prompt's ids; an empty prompt starts from <|endoftext|>, as GPT-2 begins a text. A prompt
 * the tokenizer cannot encode (a character outside a char tokenizer's vocabulary) is the
 * request's mistake: a GenerationRequestError with the tokenizer's reason.
 */
export function promptIds(model: GenerationModel, prompt: string): number[] {
  if (prompt === '' && model.config.eosTokenId !== null) return [model.config.eosTokenId];
  try {
    return model.tokenizer.encode(prompt);
  } catch (error) {
    if (error instanceof TokenizerError) throw new GenerationRequestError(`the prompt cannot be encoded: ${error.message}`);
    throw error;
  }
}
