/**
 * A transformer text classifier: a BERT-style encoder built from nanoGPT's blocks, read in one
 * sitting.
 *
 *     x = wte[input_ids] + wpe[0 .. T-1]          (B, T, C), then dropout
 *     x = block_i(x)  for i in 0..n_layer-1       pre-norm self-attention over the non-padding
 *                                                 tokens (no causal mask) + GELU MLP
 *     x = ln_f(x)                                 (B, T, C)
 *     pooled = mean of x over non-padding tokens  (B, C)
 *     logits = pooled W_head + b_head             (B, K)
 *
 * The same forward pass builds three graphs:
 * - training step: input_ids, attention_mask (B, T) int64 and labels (B) int64 class ids; mean
 *   softmax cross-entropy, then training-step.ts's backward pass, clipping and update; seeded
 *   in-graph dropout;
 * - evaluation: the same loss and the number of rows whose top class is the label, no dropout;
 * - inference (model.onnx): input_ids, attention_mask (N, T) int64, T <= context_length ->
 *   probabilities (N, K) float32, the weights baked in.
 *
 * T may differ between runs (a batch is padded to its longest text), so positions and masks are
 * computed from the inputs' run-time shape.
 */
import { TEXT_ATTENTION_MASK as ATTENTION_MASK, TEXT_INPUT_IDS as INPUT_IDS, TEXT_PROBABILITIES as PROBABILITIES } from '../artifact/model-description.ts';
import { GraphBuilder } from '../graph/builder.ts';
import { dropout, dropoutKey } from '../graph/dropout.ts';
import { toModelBytes } from '../graph/proto.ts';
import type { Dim, Value } from '../graph/types.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';
import { DROPOUT_SEED_INPUT, DROPOUT_STEP_INPUT, type TensorValues } from './graph-trainer.ts';
import { softmaxCrossEntropy } from './losses.ts';
import type { ParameterSpec } from './network.ts';
import { appendTrainingStep, declareTrainingInputs, LOSS } from './training-step.ts';
import { blockPrefix, gptParameters, type GptConfig } from './gpt.ts';
import { DROPOUT_SITES_PER_BLOCK, INIT_STD, transformerBlock, type TransformerBlockConfig } from './transformer-block.ts';

/** GPT's sizes (the same embeddings, blocks and final LayerNorm), plus the classes the head scores. */
export interface TextClassifierConfig extends GptConfig {
  /** K: classes (2 for a binary task: the head scores both). */
  readonly classes: number;
}

/** Graph input and output names; the inference graph's are the artifact's contract (model-description.ts), Hugging Face's BERT export names. */
export { ATTENTION_MASK, INPUT_IDS, PROBABILITIES };
export const LABELS = 'labels';
export const CORRECT = 'correct';
export { LOSS };

/** Symbolic dimensions: rows, and tokens per row. */
const BATCH = 'batch_size';
const SEQUENCE = 'sequence_length';

function blockConfig(config: TextClassifierConfig): TransformerBlockConfig {
  return { nEmbd: config.nEmbd, nHead: config.nHead, bias: config.bias, dropout: config.dropout, nLayer: config.nLayer };
}

/** GPT's wte, wpe, blocks and ln_f (gpt.ts, GPT-2's initialisation), then the classifier head. */
export function textClassifierParameters(config: TextClassifierConfig): ParameterSpec[] {
  if (!Number.isInteger(config.classes) || config.classes < 2) throw new Error(`text classifier: classes must be an integer >= 2, got ${config.classes}`);
  return [
    ...gptParameters(config),
    { name: 'head.weight', shape: [config.nEmbd, config.classes], init: { normal: INIT_STD } }, // (C, K)
    { name: 'head.bias', shape: [config.classes], init: 'zeros' }, // (K)
  ];
}

/** input_ids, attention_mask (B, T) int64 -> logits (B, K). `dropoutKey` null: no dropout. */
export function textClassifierForward(
  g: GraphBuilder,
  inputIds: Value,
  attentionMask: Value,
  params: Readonly<Record<string, Value>>,
  config: TextClassifierConfig,
  key: Value | null,
): Value {
  const [, t] = inputIds.shape as [Dim, Dim];
  const p = (name: string): Value => {
    const value = params[name];
    if (value === undefined) throw new Error(`text classifier: parameter ${name} is missing`);
    return value;
  };
  const positions = g.node('Range', [g.scalar(0, 'int64'), g.gather(g.shapeOf(inputIds), g.scalar(1, 'int64')), g.scalar(1, 'int64')], {}, 'int64', [t]); // (T)
  let x = g.add(g.gather(p('wte.weight'), inputIds), g.gather(p('wpe.weight'), positions)); // (B, T, C)
  if (key !== null) x = dropout(g, x, config.dropout, key, 0);

  for (let i = 0; i < config.nLayer; i++) {
    x = transformerBlock(g, x, params, blockPrefix(i), blockConfig(config), {
      causal: false,
      attentionMask,
      past: null,
      dropout: key === null ? null : { key, site: 1 + i * DROPOUT_SITES_PER_BLOCK },
    }).output; // (B, T, C)
  }
  x = g.layerNorm(x, p('ln_f.weight'), config.bias ? p('ln_f.bias') : null); // (B, T, C)

  // Mean over the tokens the mask keeps; a row with none (an empty text) pools to 0, not 0/0.
  const keep = g.unsqueeze(g.cast(attentionMask, x.dtype), [2]); // (B, T, 1)
  const count = g.node('Max', [g.reduceSum(keep, [1], false), g.scalar(1, x.dtype)], {}, x.dtype, [inputIds.shape[0]!, 1]); // (B, 1)
  const pooled = g.div(g.reduceSum(g.mul(x, keep), [1], false), count); // (B, C)
  return g.add(g.matmul(pooled, p('head.weight')), p('head.bias')); // (B, K)
}

function declareBatch(g: GraphBuilder): { ids: Value; mask: Value } {
  return {
    ids: g.input(INPUT_IDS, 'int64', [BATCH, SEQUENCE]), // (B, T)
    mask: g.input(ATTENTION_MASK, 'int64', [BATCH, SEQUENCE]), // (B, T)
  };
}

/**
 * Inputs: parameters, optimizer state and scalars (training-step.ts), input_ids, attention_mask,
 * labels, and dropout_seed / dropout_step when dropout > 0. Outputs: loss, `:next` tensors.
 */
export function buildTextClassifierTrainingGraph(config: TextClassifierConfig, optimizer: OptimizerConfig): Uint8Array {
  const g = new GraphBuilder('text_classifier_training_step');
  const parameters = textClassifierParameters(config);
  const inputs = declareTrainingInputs(g, parameters, optimizer);
  const { ids, mask } = declareBatch(g);
  const labels = g.input(LABELS, 'int64', [BATCH]); // (B)
  const key = config.dropout > 0 ? dropoutKey(g, g.input(DROPOUT_SEED_INPUT, 'int64', []), g.input(DROPOUT_STEP_INPUT, 'int64', [])) : null;
  const logits = textClassifierForward(g, ids, mask, inputs.params, config, key); // (B, K)
  appendTrainingStep(g, softmaxCrossEntropy(g, logits, labels), parameters, inputs, optimizer);
  return toModelBytes(g);
}

/** Inputs: parameters, input_ids, attention_mask, labels. Outputs: loss (mean), correct (rows whose top class is the label). */
export function buildTextClassifierEvaluationGraph(config: TextClassifierConfig): Uint8Array {
  const g = new GraphBuilder('text_classifier_evaluation');
  const params = Object.fromEntries(textClassifierParameters(config).map((p) => [p.name, g.input(p.name, 'float32', p.shape)]));
  const { ids, mask } = declareBatch(g);
  const labels = g.input(LABELS, 'int64', [BATCH]); // (B)
  const logits = textClassifierForward(g, ids, mask, params, config, null); // (B, K)
  g.output(softmaxCrossEntropy(g, logits, labels), LOSS);
  const hits = g.cast(g.equal(g.argMax(logits, 1), labels), 'float32'); // (B)
  g.output(g.reduceSum(hits, [0], false), CORRECT);
  return toModelBytes(g);
}

/** model.onnx: input_ids, attention_mask (N, T) int64 -> probabilities (N, K), the weights baked in. */
export function buildTextClassifierInferenceGraph(config: TextClassifierConfig, weights: Readonly<TensorValues>): Uint8Array {
  const g = new GraphBuilder('text_classifier');
  const params = Object.fromEntries(
    textClassifierParameters(config).map((p) => {
      const w = weights[p.name];
      if (w === undefined || w.data.length !== p.shape.reduce((a, b) => a * b, 1)) {
        throw new Error(`text classifier export: weight ${p.name} is missing or not of shape (${p.shape.join(', ')})`);
      }
      return [p.name, g.initializer(p.name, { dtype: 'float32', dims: p.shape, values: w.data })];
    }),
  );
  const { ids, mask } = declareBatch(g);
  const logits = textClassifierForward(g, ids, mask, params, config, null); // (N, K)
  g.output(g.softmax(logits, 1), PROBABILITIES); // (N, K)
  return toModelBytes(g);
}
