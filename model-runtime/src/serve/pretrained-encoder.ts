/**
 * The part a pretrained BERT class model's two tasks share (pretrained-classification-model.ts,
 * pretrained-embedding-model.ts): texts tokenized by the export's own tokenizer.json with
 * @huggingface/tokenizers (its [CLS] ... [SEP] template included), truncated to the model's
 * positions keeping that template, padded into (N, T) input_ids, attention_mask and, when the
 * model declares it, token_type_ids, and one ONNX Runtime run per chunk of texts.
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import type { Tokenizer as LibraryTokenizer } from '@huggingface/tokenizers';
import type { LoadedArtifact } from '../artifact/load.ts';
import type { PretrainedModelDescription } from '../artifact/model-description.ts';
import { createSession } from '../engine/session.ts';
import { ATTENTION_MASK, INPUT_IDS } from '../models/gpt.ts';
import { TOKEN_TYPE_IDS, TOKENIZER_CONFIG_FILE } from '../models/pretrained-export.ts';
import { loadLibraryTokenizer } from '../text/pretrained-tokenizer.ts';
import { badRequest } from './http-error.ts';
import type { ServedModelOptions } from './served-model.ts';

/** Texts per ONNX Runtime run: a run pads to its longest text, so large chunks of mixed lengths waste work. */
export const TEXTS_PER_RUN = 32;

/** One text as the model reads it. */
export interface EncodedText {
  readonly ids: readonly number[];
  readonly typeIds: readonly number[];
  /** The text had more tokens than the model's positions and was cut. */
  readonly truncated: boolean;
}

/** One run's output over a chunk of texts, with the attention mask it ran under. */
export interface EncoderRun {
  /** Row-major, (n, ...) as the output declares. */
  readonly output: Float32Array;
  readonly dims: readonly number[];
  /** (n, T): 1 for a token, 0 for padding. */
  readonly mask: BigInt64Array;
  readonly length: number;
}

export class PretrainedEncoder {
  runs = 0;

  private constructor(
    readonly description: PretrainedModelDescription,
    private readonly tokenizer: LibraryTokenizer,
    private readonly session: ort.InferenceSession,
    private readonly padId: number,
    /** The output each run computes (logits, last_hidden_state or token_embeddings). */
    readonly output: string,
  ) {}

  /** Loads the tokenizer and the session over a verified artifact; `output` (given the file's output names) must be one the file declares. */
  static async fromArtifact(artifact: LoadedArtifact & { readonly description: PretrainedModelDescription }, outputOf: (outputNames: readonly string[]) => string, options: ServedModelOptions): Promise<PretrainedEncoder> {
    const { description } = artifact;
    const text = (name: string): string | null => {
      const bytes = artifact.files.get(name);
      return bytes === undefined ? null : new TextDecoder().decode(bytes);
    };
    const tokenizer = loadLibraryTokenizer({ tokenizerJson: text(description.tokenizer.file)!, tokenizerConfigJson: text(TOKENIZER_CONFIG_FILE), source: artifact.dir });
    const session = await createSession(artifact.onnx, { intraOpNumThreads: options.threads ?? Math.max(1, os.availableParallelism()) });
    const output = outputOf(session.outputNames);
    const missing = [INPUT_IDS, ATTENTION_MASK].filter((n) => !session.inputNames.includes(n));
    if (missing.length > 0 || !session.outputNames.includes(output)) {
      await session.release();
      throw new Error(`model.onnx is not this ${description.task} model: it lacks ${[...missing.map((n) => `input ${n}`), ...(session.outputNames.includes(output) ? [] : [`output ${output}`])].join(', ')}`);
    }
    return new PretrainedEncoder(description, tokenizer, session, padTokenId(tokenizer, text(TOKENIZER_CONFIG_FILE)), output);
  }

  /**
   * Each text's ids; one longer than contextLength keeps its template's first and last tokens
   * ([CLS], [SEP]) around its first tokens, or is a 400 when `truncation` is false.
   */
  encode(texts: readonly string[], truncation: boolean): EncodedText[] {
    const { contextLength } = this.description;
    return texts.map((text, i) => {
      const full = this.tokenizer.encode(text, { return_token_type_ids: true });
      if (full.ids.length <= contextLength) return { ids: full.ids, typeIds: full.token_type_ids, truncated: false };
      if (!truncation) {
        throw badRequest(`text ${i} is ${full.ids.length} tokens long, over this model's ${contextLength} positions; shorten it, or leave parameters.truncation unset (true) to read its first tokens`);
      }
      // The template's tokens are what the text alone lacks: as many before the text's own as it starts with.
      const plain = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
      const prefix = Math.max(0, full.ids.findIndex((id, at) => id === plain[0] && full.ids.slice(at, at + plain.length).every((x, k) => x === plain[k])));
      const suffix = full.ids.length - prefix - plain.length;
      const keep = Math.max(0, contextLength - prefix - suffix);
      const cut = <T>(values: readonly T[]): T[] => [...values.slice(0, prefix + keep), ...values.slice(values.length - suffix)];
      return { ids: cut(full.ids), typeIds: cut(full.token_type_ids), truncated: true };
    });
  }

  /** One run over at most TEXTS_PER_RUN texts, padded on the right to the longest. */
  async run(texts: readonly EncodedText[]): Promise<EncoderRun> {
    const { output } = this;
    const n = texts.length;
    const length = Math.max(1, ...texts.map((t) => t.ids.length));
    const ids = new BigInt64Array(n * length).fill(BigInt(this.padId));
    const mask = new BigInt64Array(n * length);
    const types = new BigInt64Array(n * length);
    texts.forEach((t, row) => {
      t.ids.forEach((id, col) => {
        ids[row * length + col] = BigInt(id);
        mask[row * length + col] = 1n;
        types[row * length + col] = BigInt(t.typeIds[col] ?? 0);
      });
    });
    const dims = [n, length];
    const feeds: Record<string, ort.Tensor> = { [INPUT_IDS]: new ort.Tensor('int64', ids, dims), [ATTENTION_MASK]: new ort.Tensor('int64', mask, dims) };
    if (this.session.inputNames.includes(TOKEN_TYPE_IDS)) feeds[TOKEN_TYPE_IDS] = new ort.Tensor('int64', types, dims);
    this.runs += 1;
    const results = await this.session.run(feeds, [output]);
    const tensor = results[output]!;
    return { output: tensor.data as Float32Array, dims: tensor.dims, mask, length };
  }

  close(): Promise<void> {
    return this.session.release();
  }
}

/** The id padding positions hold: tokenizer_config.json's pad_token, else [PAD] or <pad>, else 0 (masked out either way). */
function padTokenId(tokenizer: LibraryTokenizer, configText: string | null): number {
  let configured: unknown;
  try {
    configured = configText === null ? undefined : (JSON.parse(configText) as { pad_token?: unknown }).pad_token;
  } catch {
    configured = undefined;
  }
  const name = typeof configured === 'string' ? configured : typeof configured === 'object' && configured !== null && 'content' in configured ? String(configured.content) : undefined;
  for (const candidate of [name, '[PAD]', '<pad>']) {
    const id = candidate === undefined ? undefined : tokenizer.token_to_id(candidate);
    if (id !== undefined) return id;
  }
  return 0;
}
