/**
 * What generating from a language model artifact needs, read from its files: the decoder
 * session over model.onnx, the sizes and special token ids from config.json, the eos ids and
 * request defaults generation_config.json overrides them with (generation-config.ts), the
 * tokenizer from tokenizer.json. Serving (serve/text-generation-model.ts) and `modelstack
 * generate` share it.
 */
import type { LoadedArtifact } from '../artifact/load.ts';
import { PRETRAINED_ALGORITHM } from '../artifact/model-description.ts';
import type { EngineOptions } from '../engine/session.ts';
import { TokenizerError } from '../text/text-error.ts';
import { loadLibraryTokenizer, PretrainedTokenizer } from '../text/pretrained-tokenizer.ts';
import { parseTokenizerJson } from '../text/tokenizer-json.ts';
import type { Tokenizer } from '../text/tokenizer.ts';
import { CausalDecoder } from './generation-decoder.ts';
import { GenerationRequestError } from './generation.ts';
import { generationRules, parseGenerationConfig, type GenerationRules } from './generation-config.ts';
import { CONFIG_FILE, GENERATION_CONFIG_FILE, parseDecoderConfig, type DecoderConfig } from './gpt-config.ts';
import { TOKENIZER_CONFIG_FILE } from './pretrained-export.ts';

export interface GenerationModel {
  readonly decoder: CausalDecoder;
  readonly tokenizer: Tokenizer;
  readonly config: DecoderConfig;
  /** The eos ids, the empty prompt's start and the request defaults (generation_config.json over config.json). */
  readonly generation: GenerationRules;
}

export interface GenerationModelFiles {
  /** The folder the files came from, for messages. */
  readonly dir: string;
  readonly onnx: Uint8Array;
  /** Every file by name (config.json and the tokenizer's among them). */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** The tokenizer's file name (model.json's tokenizer.file). */
  readonly tokenizerFile: string;
  /** A tokenizer already loaded from it (a pretrained export's, text/pretrained-tokenizer.ts); absent: this runtime's own reader loads it. */
  readonly tokenizer?: Tokenizer;
}

export async function loadGenerationModel(artifact: GenerationModelFiles, engine: EngineOptions = {}): Promise<GenerationModel> {
  const text = (name: string): string => {
    const bytes = artifact.files.get(name);
    if (bytes === undefined) throw new Error(`the language model in ${artifact.dir} has no ${name}`);
    return new TextDecoder().decode(bytes);
  };
  const config = parseDecoderConfig(text(CONFIG_FILE), `${artifact.dir}/${CONFIG_FILE}`);
  // Optional: an artifact sealed before this runtime wrote one, or an export without it.
  const generationBytes = artifact.files.get(GENERATION_CONFIG_FILE);
  const generationFile = generationBytes === undefined ? null : parseGenerationConfig(new TextDecoder().decode(generationBytes), `${artifact.dir}/${GENERATION_CONFIG_FILE}`, config.vocabSize);
  const generation = generationRules(config, generationFile);
  const tokenizer = artifact.tokenizer ?? parseTokenizerJson(text(artifact.tokenizerFile), `${artifact.dir}/${artifact.tokenizerFile}`);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new Error(`${artifact.dir}: ${artifact.tokenizerFile} has ${tokenizer.vocabSize} tokens, more than config.json's vocab_size ${config.vocabSize}`);
  }
  const decoder = await CausalDecoder.create(
    artifact.onnx,
    { nLayer: config.nLayer, nHead: config.nHead, headDim: config.nEmbd / config.nHead, vocabSize: config.vocabSize, contextLength: config.contextLength },
    engine,
  );
  return { decoder, tokenizer, config, generation };
}

/**
 * The prompt's ids; an empty prompt starts from bos_token_id (else the first eos id), as
 * transformers' generate() does without input_ids and as GPT-2 begins a text (<|endoftext|>). A prompt
 * the tokenizer cannot encode (a character outside a char tokenizer's vocabulary) is the
 * request's mistake: a GenerationRequestError with the tokenizer's reason.
 */
export function promptIds(model: GenerationModel, prompt: string): number[] {
  if (prompt === '' && model.generation.startTokenId !== null) return [model.generation.startTokenId];
  try {
    return model.tokenizer.encode(prompt);
  } catch (error) {
    if (error instanceof TokenizerError) throw new GenerationRequestError(`the prompt cannot be encoded: ${error.message}`);
    throw error;
  }
}

/** A pretrained export's tokenizer, through @huggingface/tokenizers; undefined for this runtime's own language model (its reader loads that). */
export function pretrainedTokenizer(artifact: Pick<LoadedArtifact, 'dir' | 'description' | 'files'>): PretrainedTokenizer | undefined {
  if (artifact.description.algorithm !== PRETRAINED_ALGORITHM) return undefined;
  const text = (name: string): string | null => {
    const bytes = artifact.files.get(name);
    return bytes === undefined ? null : new TextDecoder().decode(bytes);
  };
  return new PretrainedTokenizer(loadLibraryTokenizer({ tokenizerJson: text(artifact.description.tokenizer.file)!, tokenizerConfigJson: text(TOKENIZER_CONFIG_FILE), source: artifact.dir }));
}
