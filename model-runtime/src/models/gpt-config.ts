/**
 * config.json and generation_config.json beside a language model's model.onnx, with GPT-2's
 * keys as Hugging Face writes them (model_type "gpt2", n_layer, n_head, n_embd, n_positions,
 * vocab_size, bos/eos ids), so tools that read an exported GPT-2 read this model too, and the
 * generation loop reads a pretrained export's config the same way.
 */
import type { GptConfig } from './gpt.ts';
import { bosTokenId, eosTokenIds } from './special-token-ids.ts';

export const CONFIG_FILE = 'config.json';
export const GENERATION_CONFIG_FILE = 'generation_config.json';

export interface Gpt2ConfigJson {
  readonly model_type: 'gpt2';
  readonly architectures: readonly string[];
  readonly n_layer: number;
  readonly n_head: number;
  readonly n_embd: number;
  readonly n_positions: number;
  readonly n_ctx: number;
  readonly vocab_size: number;
  readonly bos_token_id: number | null;
  readonly eos_token_id: number | null;
  readonly activation_function: 'gelu_new';
  readonly layer_norm_epsilon: number;
  readonly tie_word_embeddings: true;
  readonly embd_pdrop: number;
  readonly attn_pdrop: number;
  readonly resid_pdrop: number;
  readonly use_cache: true;
  /** Not a GPT-2 key (GPT-2 always has biases): nanoGPT's `bias`. */
  readonly bias: boolean;
}

export interface GenerationConfigJson {
  readonly bos_token_id: number | null;
  readonly eos_token_id: number | null;
  /** Prompt plus generated tokens at most, without sliding the window. */
  readonly max_length: number;
  readonly do_sample: boolean;
}

export function gpt2ConfigJson(config: GptConfig, eosTokenId: number | null): Gpt2ConfigJson {
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    n_layer: config.nLayer,
    n_head: config.nHead,
    n_embd: config.nEmbd,
    n_positions: config.contextLength,
    n_ctx: config.contextLength,
    vocab_size: config.vocabSize,
    // GPT-2 begins and ends text with the same <|endoftext|>.
    bos_token_id: eosTokenId,
    eos_token_id: eosTokenId,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    tie_word_embeddings: true,
    embd_pdrop: config.dropout,
    attn_pdrop: config.dropout,
    resid_pdrop: config.dropout,
    use_cache: true,
    bias: config.bias,
  };
}

export function generationConfigJson(config: GptConfig, eosTokenId: number | null): GenerationConfigJson {
  return { bos_token_id: eosTokenId, eos_token_id: eosTokenId, max_length: config.contextLength, do_sample: false };
}

/** What generation needs from config.json, checked: the sizes and the special token ids. */
export interface DecoderConfig {
  readonly nLayer: number;
  readonly nHead: number;
  readonly nEmbd: number;
  readonly contextLength: number;
  readonly vocabSize: number;
  /** eos_token_id as a set: one id, or a list (Llama 3, Qwen, Gemma); empty when null or absent. */
  readonly eosTokenIds: readonly number[];
  readonly bosTokenId: number | null;
}

/** Reads config.json's text; `source` names the file in errors. */
export function parseDecoderConfig(text: string, source = CONFIG_FILE): DecoderConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) throw new Error(`${source} must be a JSON object with GPT-2's keys (n_layer, n_head, ...)`);
  const record = raw as Record<string, unknown>;
  // GPT-2's own keys, or the names other GPT-2 class configs use for them (GPTNeo, OPT, ...: PretrainedConfig's attribute_map).
  const size = (key: string, ...aliases: string[]): number => {
    const found = [key, ...aliases].find((k) => record[k] !== undefined) ?? key;
    const v = record[found];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${source}: ${[key, ...aliases].join(' or ')} must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const vocabSize = size('vocab_size');
  const config: DecoderConfig = {
    nLayer: size('n_layer', 'num_hidden_layers', 'num_layers'),
    nHead: size('n_head', 'num_attention_heads', 'num_heads'),
    nEmbd: size('n_embd', 'hidden_size'),
    contextLength: size('n_positions', 'max_position_embeddings'),
    vocabSize,
    eosTokenIds: eosTokenIds(record, source, vocabSize) ?? [],
    bosTokenId: bosTokenId(record, source, vocabSize),
  };
  if (config.nEmbd % config.nHead !== 0) throw new Error(`${source}: n_embd (${config.nEmbd}) must divide by n_head (${config.nHead})`);
  return config;
}
