/**
 * Models in exactly the layout Optimum's `optimum-cli export onnx` writes for GPT-2 and BERT
 * class models, with random weights: what tests and benches package and serve, since no
 * pretrained weights can be downloaded here. The input and output names, dtypes and dynamic
 * axis names are the export's; what differs is said where it does:
 *
 *   GPT-2, text-generation-with-past (decoder_model_merged.onnx when `merged`, else model.onnx)
 *     input_ids (batch_size, sequence_length) int64, attention_mask (batch_size,
 *     past_sequence_length + sequence_length) int64, position_ids (batch_size, sequence_length)
 *     int64, past_key_values.{i}.key/.value (batch_size, n_head, past_sequence_length, head_dim)
 *     float32 [, use_cache_branch (1) bool] -> logits (batch_size, sequence_length, vocab_size),
 *     present.{i}.key/.value (batch_size, n_head, past_sequence_length + sequence_length, head_dim).
 *     The merged file is Optimum's: one If on use_cache_branch whose then_branch is the decoder
 *     with past (it reads past_key_values.*) and whose else_branch the decoder without (the
 *     first pass: it reads input_ids, attention_mask and position_ids alone); both share the
 *     outer graph's initializers, and logits and present.* are the If's outputs. A flag that
 *     disagrees with the cache takes the wrong branch, as in a real export: false on a later pass
 *     ignores the cache (ONNX Runtime fails on the attention_mask, longer than the tokens).
 *   BERT, text-classification and feature-extraction (model.onnx)
 *     input_ids, attention_mask, token_type_ids (batch_size, sequence_length) int64 ->
 *     logits (batch_size, num_labels) or last_hidden_state (batch_size, sequence_length, hidden_size)
 *     (token_embeddings in a sentence-transformers export).
 *     The blocks are this runtime's pre-norm ones (models/transformer-block.ts) with erf GELU and
 *     a final LayerNorm, where BERT's are post-norm: the same sizes and cost, the same interface.
 *
 * Opset 18 (graph/builder.ts), where Optimum's default for these models is 14 or later.
 */
import { GraphBuilder } from '../graph/builder.ts';
import { toModelBytes } from '../graph/proto.ts';
import type { Value } from '../graph/types.ts';
import { createRandom } from '../data/random.ts';
import { ATTENTION_MASK, gptForward, gptParameters, INPUT_IDS, LOGITS, POSITION_IDS, pastKeyName, pastValueName, presentKeyName, presentValueName, type GptConfig } from './gpt.ts';
import { USE_CACHE_BRANCH } from './generation-decoder.ts';
import { initialValues } from './init.ts';
import type { ParameterSpec } from './network.ts';
import { LAST_HIDDEN_STATE, TOKEN_EMBEDDINGS, TOKEN_TYPE_IDS } from './pretrained-export.ts';
import { blockParameters, transformerBlock, type TransformerBlockConfig } from './transformer-block.ts';

const BATCH = 'batch_size';
const SEQUENCE = 'sequence_length';
const PAST = 'past_sequence_length';
const TOTAL = 'past_sequence_length + sequence_length';

/**
 * Weights drawn N(0, scale) for matrices and embeddings, LayerNorms at ones and zeros. A scale
 * far above GPT-2's 0.02 keeps a random model's logits apart, so greedy decoding never hinges on
 * a rounding difference between two ways of computing them.
 */
function randomWeights(g: GraphBuilder, specs: readonly ParameterSpec[], seed: number, scale: number): Record<string, Value> {
  const random = createRandom(seed);
  return Object.fromEntries(
    specs.map((p) => {
      const init = p.init === 'ones' || p.init === 'zeros' ? p.init : { normal: scale };
      return [p.name, g.initializer(p.name, { dtype: 'float32', dims: p.shape, values: initialValues(init, p.shape, random) })];
    }),
  );
}

export interface Gpt2ExportOptions {
  /** decoder_model_merged.onnx: use_cache_branch and the If over the two decoders (file comment). */
  readonly merged: boolean;
  readonly seed: number;
  /** @default 0.3 */
  readonly weightScale?: number;
}

/** A GPT-2 class decoder with past key values (biases, tanh GELU, tied head), random weights. */
export function buildGpt2Export(config: Omit<GptConfig, 'bias' | 'dropout'>, options: Gpt2ExportOptions): Uint8Array {
  const full: GptConfig = { ...config, bias: true, dropout: 0 };
  const g = new GraphBuilder('gpt2_decoder');
  const params = randomWeights(g, gptParameters(full), options.seed, options.weightScale ?? 0.3);
  const d = config.nEmbd / config.nHead;
  const ids = g.input(INPUT_IDS, 'int64', [BATCH, SEQUENCE]);
  const mask = g.input(ATTENTION_MASK, 'int64', [BATCH, TOTAL]);
  const positionIds = g.input(POSITION_IDS, 'int64', [BATCH, SEQUENCE]);
  const past = Array.from({ length: config.nLayer }, (_, i) => ({
    key: g.input(pastKeyName(i), 'float32', [BATCH, config.nHead, PAST, d]),
    value: g.input(pastValueName(i), 'float32', [BATCH, config.nHead, PAST, d]),
  }));
  const outputNames = [LOGITS, ...past.flatMap((_, i) => [presentKeyName(i), presentValueName(i)])];
  const decoder = (graph: GraphBuilder, withPast: boolean): Value[] => {
    const forward = gptForward(graph, ids, params, full, { attentionMask: mask, positionIds, past: withPast ? past : null, dropoutKey: null });
    return [forward.logits, ...forward.presents.flatMap((present) => [present.key, present.value])];
  };
  if (!options.merged) {
    decoder(g, true).forEach((value, k) => g.output(value, outputNames[k]));
    return toModelBytes(g);
  }
  // Optimum's merge: an If on use_cache_branch between the decoder with past (the cache is read)
  // and the one without (past_key_values.* are declared but unread: the first pass). Both
  // branches read the outer graph's inputs and initializers by name.
  const branch = g.input(USE_CACHE_BRANCH, 'bool', [1]);
  const withPast = g.subgraph('decoder_with_past');
  decoder(withPast, true).forEach((value) => withPast.output(value));
  const withoutPast = g.subgraph('decoder_without_past');
  decoder(withoutPast, false).forEach((value) => withoutPast.output(value));
  g.ifElse(branch, withPast, withoutPast, outputNames).forEach((value) => g.output(value));
  return toModelBytes(g);
}

export interface BertExportConfig {
  readonly vocabSize: number;
  /** max_position_embeddings */
  readonly maxPositions: number;
  /** type_vocab_size */
  readonly typeVocabSize: number;
  readonly nLayer: number;
  readonly nHead: number;
  /** hidden_size */
  readonly hidden: number;
}

export interface BertExportOptions {
  /** text-classification: a pooler (tanh of [CLS]'s dense) and a classifier to this many logits; feature-extraction: last_hidden_state. */
  readonly head:
    | { readonly task: 'text-classification'; readonly numLabels: number }
    /** `output`: token_embeddings is the name in a sentence-transformers export. @default last_hidden_state */
    | { readonly task: 'feature-extraction'; readonly output?: typeof LAST_HIDDEN_STATE | typeof TOKEN_EMBEDDINGS };
  readonly seed: number;
  /** @default 0.3 */
  readonly weightScale?: number;
}

/** A BERT class encoder in the export layout (file comment), random weights. */
export function buildBertExport(config: BertExportConfig, options: BertExportOptions): Uint8Array {
  const c = config.hidden;
  const block: TransformerBlockConfig = { nEmbd: c, nHead: config.nHead, bias: true, dropout: 0, nLayer: config.nLayer, gelu: 'erf' };
  const specs: ParameterSpec[] = [
    { name: 'embeddings.word_embeddings.weight', shape: [config.vocabSize, c], init: { normal: 1 } },
    { name: 'embeddings.position_embeddings.weight', shape: [config.maxPositions, c], init: { normal: 1 } },
    { name: 'embeddings.token_type_embeddings.weight', shape: [config.typeVocabSize, c], init: { normal: 1 } },
    { name: 'embeddings.LayerNorm.weight', shape: [c], init: 'ones' },
    { name: 'embeddings.LayerNorm.bias', shape: [c], init: 'zeros' },
    ...Array.from({ length: config.nLayer }, (_, i) => blockParameters(`encoder.layer.${i}`, block)).flat(),
    { name: 'final_norm.weight', shape: [c], init: 'ones' },
    { name: 'final_norm.bias', shape: [c], init: 'zeros' },
  ];
  if (options.head.task === 'text-classification') {
    specs.push(
      { name: 'pooler.dense.weight', shape: [c, c], init: { normal: 1 } },
      { name: 'pooler.dense.bias', shape: [c], init: { normal: 1 } },
      { name: 'classifier.weight', shape: [c, options.head.numLabels], init: { normal: 1 } },
      { name: 'classifier.bias', shape: [options.head.numLabels], init: { normal: 1 } },
    );
  }
  const g = new GraphBuilder('bert_encoder');
  const p = randomWeights(g, specs, options.seed, options.weightScale ?? 0.3);
  const ids = g.input(INPUT_IDS, 'int64', [BATCH, SEQUENCE]);
  const mask = g.input(ATTENTION_MASK, 'int64', [BATCH, SEQUENCE]);
  const types = g.input(TOKEN_TYPE_IDS, 'int64', [BATCH, SEQUENCE]);

  const length = g.gather(g.shapeOf(ids), g.scalar(1, 'int64'));
  const positions = g.node('Range', [g.scalar(0, 'int64'), length, g.scalar(1, 'int64')], {}, 'int64', [SEQUENCE]); // 0 .. T - 1
  let x = g.add(g.add(g.gather(p['embeddings.word_embeddings.weight']!, ids), g.gather(p['embeddings.position_embeddings.weight']!, positions)), g.gather(p['embeddings.token_type_embeddings.weight']!, types)); // (B, T, C)
  x = g.layerNorm(x, p['embeddings.LayerNorm.weight']!, p['embeddings.LayerNorm.bias']!, { epsilon: 1e-12 });
  for (let i = 0; i < config.nLayer; i++) {
    x = transformerBlock(g, x, p, `encoder.layer.${i}`, block, { causal: false, attentionMask: mask, past: null, dropout: null }).output;
  }
  x = g.layerNorm(x, p['final_norm.weight']!, p['final_norm.bias']!, { epsilon: 1e-12 }); // (B, T, C)
  if (options.head.task === 'feature-extraction') {
    g.output(x, options.head.output ?? LAST_HIDDEN_STATE);
    return toModelBytes(g);
  }
  const cls = g.gather(x, g.scalar(0, 'int64'), 1); // (B, C): the [CLS] position
  const pooled = g.tanh(g.add(g.matmul(cls, p['pooler.dense.weight']!), p['pooler.dense.bias']!));
  g.output(g.add(g.matmul(pooled, p['classifier.weight']!), p['classifier.bias']!), LOGITS); // (B, K)
  return toModelBytes(g);
}
