/**
 * One ONNX Runtime session over a decoder in Hugging Face's "text-generation-with-past" layout
 * (this runtime's model.onnx, or a GPT-2 class export): feed new tokens and the cache, get the
 * next-token logits and the cache grown by those tokens: one sequence at a time (`step`), several
 * prompts left-padded into one first pass (`prefillBatch`), or one new token for each row of a
 * left-padded batch (`stepBatch`, batch-cache.ts).
 *
 * Inputs beyond input_ids, attention_mask and the cache are fed only when the session declares
 * them, so this runtime's older model.onnx files and Hugging Face exports both load:
 * - position_ids (B, T) int64: each token's position (GPT-2 exports, this runtime's since it
 *   learnt batching);
 * - use_cache_branch (1) bool: Optimum's decoder_model_merged.onnx holds the first pass and the
 *   cached one as the two branches of an If; false while the cache is empty, true after.
 */
import * as ort from 'onnxruntime-node';
import { createSession, type EngineOptions } from '../engine/session.ts';
import { batchAttentionMask, type BatchCache } from './batch-cache.ts';
import { ATTENTION_MASK, INPUT_IDS, LOGITS, POSITION_IDS, pastKeyName, pastValueName, presentKeyName, presentValueName } from './gpt.ts';

/** The sizes a decoder's inputs need, from config.json. */
export interface DecoderShape {
  readonly nLayer: number;
  readonly nHead: number;
  /** D = n_embd / n_head */
  readonly headDim: number;
  readonly vocabSize: number;
  /** Positions the model has embeddings for: P + T never exceeds it. */
  readonly contextLength: number;
}

/** Keys and values of every layer for the positions fed so far, (1, H, P, D) each. */
export interface KvCache {
  readonly length: number;
  readonly keys: readonly ort.Tensor[];
  readonly values: readonly ort.Tensor[];
}

export interface BatchStep {
  /** Per row, the logits (V) for the token after the last one fed. */
  readonly logits: readonly Float32Array[];
  /** The rows' cache holding what was fed: stepBatch's one column wider, prefillBatch's as wide as its longest row. */
  readonly cache: BatchCache;
}

export interface DecoderStep {
  /** Logits (V) for the token after the last one fed. */
  readonly logits: Float32Array;
  readonly cache: KvCache;
}

/** Optimum's merged decoder's switch between its first-pass and cached branches. */
export const USE_CACHE_BRANCH = 'use_cache_branch';

export class CausalDecoder {
  /** Session runs so far: what a stopped generation stops growing. */
  private runs = 0;
  /** The session declares position_ids: rows of a padded batch can each have their own positions. */
  readonly takesPositionIds: boolean;
  private readonly takesCacheBranch: boolean;

  private constructor(
    readonly shape: DecoderShape,
    private readonly session: ort.InferenceSession,
  ) {
    this.takesPositionIds = session.inputNames.includes(POSITION_IDS);
    this.takesCacheBranch = session.inputNames.includes(USE_CACHE_BRANCH);
  }

  static async create(model: Uint8Array, shape: DecoderShape, engine: EngineOptions = {}): Promise<CausalDecoder> {
    const session = await createSession(model, engine);
    const expected = [INPUT_IDS, ATTENTION_MASK, ...Array.from({ length: shape.nLayer }, (_, i) => [pastKeyName(i), pastValueName(i)]).flat()];
    const missing = expected.filter((n) => !session.inputNames.includes(n));
    const outputs = [LOGITS, ...Array.from({ length: shape.nLayer }, (_, i) => [presentKeyName(i), presentValueName(i)]).flat()];
    const missingOutputs = outputs.filter((n) => !session.outputNames.includes(n));
    if (missing.length > 0 || missingOutputs.length > 0) {
      await session.release();
      throw new Error(`model.onnx is not a decoder with past key values for ${shape.nLayer} layers: missing inputs [${missing.join(', ')}], outputs [${missingOutputs.join(', ')}]`);
    }
    return new CausalDecoder(shape, session);
  }

  /** A cache of no positions, for the first call. */
  emptyCache(): KvCache {
    const { nLayer, nHead, headDim } = this.shape;
    const empty = (): ort.Tensor => new ort.Tensor('float32', new Float32Array(0), [1, nHead, 0, headDim]);
    return { length: 0, keys: Array.from({ length: nLayer }, empty), values: Array.from({ length: nLayer }, empty) };
  }

  /** Feeds `ids` (at least one) after the cache's positions. */
  async step(ids: readonly number[], cache: KvCache): Promise<DecoderStep> {
    const { contextLength } = this.shape;
    if (ids.length === 0) throw new Error('decoder step: needs at least one token');
    const total = cache.length + ids.length;
    if (total > contextLength) throw new Error(`decoder step: ${total} positions exceed the context length ${contextLength}`);
    const feeds: Record<string, ort.Tensor> = {
      [INPUT_IDS]: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      [ATTENTION_MASK]: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
    };
    if (this.takesPositionIds) feeds[POSITION_IDS] = new ort.Tensor('int64', BigInt64Array.from(ids, (_, i) => BigInt(cache.length + i)), [1, ids.length]);
    const out = await this.run(feeds, cache.length > 0, cache);
    const last = out.logits.subarray((ids.length - 1) * out.vocabSize, ids.length * out.vocabSize);
    return { logits: Float32Array.from(last), cache: { length: total, keys: out.keys, values: out.values } };
  }

  /**
   * The first pass of several sequences in one session run: each row's tokens left-padded to the
   * longest, the attention mask 0 over the padding and each row's position_ids counting from its
   * own first token, over an empty past; out come each row's logits at its last token and the
   * rows' cache, (B, H, Tmax, D) left-padded as batch-cache.ts packs it. A row's logits are its
   * lone step's up to float rounding: padded keys are masked out of every real query's softmax.
   * Padded queries see only masked keys, so their (discarded) outputs are a finite mean, not NaN.
   * Needs position_ids, as stepBatch does.
   */
  async prefillBatch(rows: readonly (readonly number[])[]): Promise<BatchStep> {
    const { contextLength, nLayer, nHead, headDim } = this.shape;
    if (!this.takesPositionIds) throw new Error('decoder prefill: a padded batch needs a model with a position_ids input');
    if (rows.length === 0 || rows.some((ids) => ids.length === 0)) throw new Error('decoder prefill: needs at least one row, each of at least one token');
    const lengths = rows.map((ids) => ids.length);
    const width = Math.max(...lengths);
    if (width > contextLength) throw new Error(`decoder prefill: ${width} positions exceed the context length ${contextLength}`);
    const ids = new BigInt64Array(rows.length * width); // padding: token 0, masked out
    const mask = new BigInt64Array(rows.length * width);
    const positions = new BigInt64Array(rows.length * width); // padding: position 0
    rows.forEach((row, b) => {
      const pad = width - row.length;
      row.forEach((id, j) => {
        ids[b * width + pad + j] = BigInt(id);
        mask[b * width + pad + j] = 1n;
        positions[b * width + pad + j] = BigInt(j);
      });
    });
    const feeds: Record<string, ort.Tensor> = {
      [INPUT_IDS]: new ort.Tensor('int64', ids, [rows.length, width]),
      [ATTENTION_MASK]: new ort.Tensor('int64', mask, [rows.length, width]),
      [POSITION_IDS]: new ort.Tensor('int64', positions, [rows.length, width]),
    };
    const empty = (): ort.Tensor => new ort.Tensor('float32', new Float32Array(0), [rows.length, nHead, 0, headDim]);
    const out = await this.run(feeds, false, { keys: Array.from({ length: nLayer }, empty), values: Array.from({ length: nLayer }, empty) });
    const v = out.vocabSize;
    return {
      logits: rows.map((_, b) => Float32Array.from(out.logits.subarray((b * width + width - 1) * v, (b * width + width) * v))), // (B, T, V) at each row's last column
      cache: { lengths, width, keys: out.keys, values: out.values },
    };
  }

  /**
   * Feeds one new token per row of a left-padded batch (batch-cache.ts): one session run for
   * all rows. Needs position_ids: without it the graph counts every row's positions from the
   * padded width.
   */
  async stepBatch(ids: readonly number[], cache: BatchCache): Promise<BatchStep> {
    const { contextLength } = this.shape;
    const rows = cache.lengths.length;
    if (!this.takesPositionIds) throw new Error('decoder step: a padded batch needs a model with a position_ids input');
    if (ids.length !== rows || rows === 0) throw new Error(`decoder step: a batch of ${rows} rows needs one token per row, got ${ids.length}`);
    const longest = Math.max(...cache.lengths) + 1;
    if (longest > contextLength) throw new Error(`decoder step: ${longest} positions exceed the context length ${contextLength}`);
    const feeds: Record<string, ort.Tensor> = {
      [INPUT_IDS]: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [rows, 1]),
      [ATTENTION_MASK]: batchAttentionMask(cache),
      [POSITION_IDS]: new ort.Tensor('int64', BigInt64Array.from(cache.lengths, BigInt), [rows, 1]),
    };
    const out = await this.run(feeds, cache.width > 0, cache);
    return {
      logits: Array.from({ length: rows }, (_, r) => Float32Array.from(out.logits.subarray(r * out.vocabSize, (r + 1) * out.vocabSize))), // (B, 1, V) by row
      cache: { lengths: cache.lengths.map((l) => l + 1), width: cache.width + 1, keys: out.keys, values: out.values },
    };
  }

  /** One session run: `feeds` plus the cache's tensors (and use_cache_branch when declared) in, logits (B, T, V) and the presents out. */
  private async run(
    feeds: Record<string, ort.Tensor>,
    cached: boolean,
    cache: { readonly keys: readonly ort.Tensor[]; readonly values: readonly ort.Tensor[] },
  ): Promise<{ logits: Float32Array; vocabSize: number; keys: ort.Tensor[]; values: ort.Tensor[] }> {
    const { nLayer } = this.shape;
    if (this.takesCacheBranch) feeds[USE_CACHE_BRANCH] = new ort.Tensor('bool', new Uint8Array([cached ? 1 : 0]), [1]);
    for (let i = 0; i < nLayer; i++) {
      feeds[pastKeyName(i)] = cache.keys[i]!;
      feeds[pastValueName(i)] = cache.values[i]!;
    }
    this.runs++;
    const out = await this.session.run(feeds);
    return {
      logits: out[LOGITS]!.data as Float32Array,
      vocabSize: out[LOGITS]!.dims[2]!,
      keys: Array.from({ length: nLayer }, (_, i) => out[presentKeyName(i)]!),
      values: Array.from({ length: nLayer }, (_, i) => out[presentValueName(i)]!),
    };
  }

  get steps(): number {
    return this.runs;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
