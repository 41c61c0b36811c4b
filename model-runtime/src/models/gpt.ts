/**
 * A decoder-only GPT with nanoGPT's architecture:
 *
 *     x = wte[input_ids] + wpe[positions]       (B, T, C), then dropout
 *     x = block_i(x)  for i in 0..n_layer-1     pre-norm causal self-attention + GELU MLP
 *     logits = ln_f(x) wte^T                    (B, T, V): the head IS the token embedding
 *
 * The same forward pass builds three graphs:
 * - training step: input_ids and targets (B, T) int64, mean softmax cross-entropy over every
 *   position, then training-step.ts's backward pass and update; seeded dropout;
 * - evaluation: the same loss, no dropout;
 * - inference (model.onnx), laid out as Hugging Face's ONNX exports of GPT-2 are (Optimum's
 *   "text-generation-with-past"), so one generation loop serves this model and pretrained
 *   exports alike: input_ids (B, T), attention_mask (B, P + T), position_ids (B, T),
 *   past_key_values.{i}.key / .value (B, H, P, D) with P possibly 0 -> logits (B, T, V),
 *   present.{i}.key / .value (B, H, P + T, D). position_ids lets each row of a left-padded
 *   batch count its positions from its own first token; models exported before it existed
 *   count on from the cache's length P, which is right only without padding.
 */
import { GraphBuilder } from '../graph/builder.ts';
import { dropout, dropoutKey } from '../graph/dropout.ts';
import { toModelBytes } from '../graph/proto.ts';
import type { Dim, Value } from '../graph/types.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';
import { DROPOUT_SEED_INPUT, DROPOUT_STEP_INPUT } from './graph-trainer.ts';
import type { TensorValues } from './graph-trainer.ts';
import { softmaxCrossEntropy } from './losses.ts';
import type { ParameterSpec } from './network.ts';
import { appendTrainingStep, declareTrainingInputs, LOSS } from './training-step.ts';
import type { TransformerBlockConfig } from './transformer-block.ts';
import { blockParameters, DROPOUT_SITES_PER_BLOCK, INIT_STD, transformerBlock } from './transformer-block.ts';

export interface GptConfig {
  /** V: tokens in the vocabulary (the embedding's rows and the head's outputs). */
  readonly vocabSize: number;
  /** N: positions the model has embeddings for (GPT-2's n_positions, nanoGPT's block_size). */
  readonly contextLength: number;
  readonly nLayer: number;
  readonly nHead: number;
  /** C */
  readonly nEmbd: number;
  /** Biases in the linear layers and LayerNorms. */
  readonly bias: boolean;
  /** Dropout rate in training (embeddings, attention, residual branches). */
  readonly dropout: number;
}

/** Graph input and output names. The inference names are Hugging Face's. */
export const INPUT_IDS = 'input_ids';
export const TARGETS = 'targets';
export const ATTENTION_MASK = 'attention_mask';
export const POSITION_IDS = 'position_ids';
export const LOGITS = 'logits';
export { LOSS };
export const pastKeyName = (layer: number): string => `past_key_values.${layer}.key`;
export const pastValueName = (layer: number): string => `past_key_values.${layer}.value`;
export const presentKeyName = (layer: number): string => `present.${layer}.key`;
export const presentValueName = (layer: number): string => `present.${layer}.value`;

/** Symbolic dimensions of the inference graph, as Optimum names them. */
const BATCH = 'batch_size';
const SEQUENCE = 'sequence_length';
const PAST = 'past_sequence_length';
const TOTAL = 'past_sequence_length + sequence_length';

export function checkGptConfig(config: GptConfig): void {
  const positive = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`GPT: ${name} must be a positive integer, got ${v}`);
  };
  positive('vocab_size', config.vocabSize);
  positive('context_length', config.contextLength);
  positive('n_layer', config.nLayer);
  positive('n_head', config.nHead);
  positive('n_embd', config.nEmbd);
  if (config.nEmbd % config.nHead !== 0) throw new Error(`GPT: n_embd (${config.nEmbd}) must divide by n_head (${config.nHead}) into equal heads`);
  if (!(config.dropout >= 0 && config.dropout < 1)) throw new Error(`GPT: dropout must be in [0, 1), got ${config.dropout}`);
}

function blockConfig(config: GptConfig): TransformerBlockConfig {
  return { nEmbd: config.nEmbd, nHead: config.nHead, bias: config.bias, dropout: config.dropout, nLayer: config.nLayer, gelu: 'tanh' };
}

export const blockPrefix = (layer: number): string => `h.${layer}`;

/** wte, wpe, the blocks and ln_f in nanoGPT's order. There is no lm_head weight: it is wte. */
export function gptParameters(config: GptConfig): ParameterSpec[] {
  checkGptConfig(config);
  const c = config.nEmbd;
  const params: ParameterSpec[] = [
    { name: 'wte.weight', shape: [config.vocabSize, c], init: { normal: INIT_STD } }, // (V, C)
    { name: 'wpe.weight', shape: [config.contextLength, c], init: { normal: INIT_STD } }, // (N, C)
  ];
  for (let i = 0; i < config.nLayer; i++) params.push(...blockParameters(blockPrefix(i), blockConfig(config)));
  params.push({ name: 'ln_f.weight', shape: [c], init: 'ones' });
  if (config.bias) params.push({ name: 'ln_f.bias', shape: [c], init: 'zeros' });
  return params;
}

export interface GptForwardOptions {
  /** (B, P + T) 1 = token, 0 = padding; null = no padding. */
  readonly attentionMask: Value | null;
  /** (B, T) int64, each token's position; null = P .. P + T - 1 for every row. */
  readonly positionIds: Value | null;
  /** One cache entry per layer, (B, H, P, D) each; null = no cache (P = 0). */
  readonly past: readonly { readonly key: Value; readonly value: Value }[] | null;
  /** From graph/dropout.ts's dropoutKey; null = no dropout (evaluation, inference). */
  readonly dropoutKey: Value | null;
}

export interface GptForward {
  /** (B, T, V) */
  readonly logits: Value;
  /** Per layer, (B, H, P + T, D). */
  readonly presents: readonly { readonly key: Value; readonly value: Value }[];
}

export function gptForward(g: GraphBuilder, inputIds: Value, params: Readonly<Record<string, Value>>, config: GptConfig, options: GptForwardOptions): GptForward {
  if (inputIds.dtype !== 'int64' || inputIds.shape.length !== 2) throw new Error(`GPT: input_ids must be int64 (B, T), got ${inputIds.dtype} (${inputIds.shape.join(', ')})`);
  if (options.past !== null && options.past.length !== config.nLayer) throw new Error(`GPT: past needs one entry per layer (${config.nLayer}), got ${options.past.length}`);
  const [, t] = inputIds.shape as [Dim, Dim];
  const p = (name: string): Value => params[name] as Value;
  const block = blockConfig(config);

  // Positions as given (B, T), or P .. P + T - 1 (T), P being the cache's length.
  const lengthAt = (v: Value, axis: number): Value => g.gather(g.shapeOf(v), g.scalar(axis, 'int64')); // int64 scalar
  const start = options.past === null ? g.scalar(0, 'int64') : lengthAt(options.past[0]!.key, 2);
  const positions = options.positionIds ?? g.node('Range', [start, g.add(start, lengthAt(inputIds, 1)), g.scalar(1, 'int64')], {}, 'int64', [t]);

  const tokens = g.gather(p('wte.weight'), inputIds); // (B, T, C)
  let x = g.add(tokens, g.gather(p('wpe.weight'), positions)); // (B, T, C) + (B, T, C) or (T, C)
  if (options.dropoutKey !== null) x = dropout(g, x, config.dropout, options.dropoutKey, 0);

  const presents: { key: Value; value: Value }[] = [];
  for (let i = 0; i < config.nLayer; i++) {
    const out = transformerBlock(g, x, params, blockPrefix(i), block, {
      causal: true,
      attentionMask: options.attentionMask,
      past: options.past === null ? null : options.past[i]!,
      dropout: options.dropoutKey === null ? null : { key: options.dropoutKey, site: 1 + i * DROPOUT_SITES_PER_BLOCK },
    });
    x = out.output; // (B, T, C)
    presents.push(out.present);
  }
  x = g.layerNorm(x, p('ln_f.weight'), config.bias ? p('ln_f.bias') : null); // (B, T, C)
  const logits = g.matmul(x, g.transpose(p('wte.weight'), [1, 0])); // (B, T, V): weight tying
  return { logits, presents };
}

/** Mean softmax cross-entropy of the next-token predictions over all B x T positions. */
export function languageModelLoss(g: GraphBuilder, logits: Value, targets: Value): Value {
  const v = logits.shape[2] as number;
  const rows = g.reshape(logits, [-1, v]); // (B T, V)
  return softmaxCrossEntropy(g, rows, g.cast(g.reshape(targets, [-1]), logits.dtype)); // ()
}

/**
 * Inputs: parameters, optimizer state and scalars (training-step.ts), input_ids and targets
 * (B, T) int64, dropout_seed and dropout_step when dropout > 0. Outputs: loss, `:next` tensors.
 */
export function buildGptTrainingGraph(config: GptConfig, optimizer: OptimizerConfig): Uint8Array {
  const g = new GraphBuilder('gpt_training_step');
  const parameters = gptParameters(config);
  const inputs = declareTrainingInputs(g, parameters, optimizer);
  const ids = g.input(INPUT_IDS, 'int64', ['B', config.contextLength]); // (B, T)
  const targets = g.input(TARGETS, 'int64', ['B', config.contextLength]); // (B, T)
  const key = config.dropout > 0 ? dropoutKey(g, g.input(DROPOUT_SEED_INPUT, 'int64', []), g.input(DROPOUT_STEP_INPUT, 'int64', [])) : null;
  const { logits } = gptForward(g, ids, inputs.params, config, { attentionMask: null, positionIds: null, past: null, dropoutKey: key });
  appendTrainingStep(g, languageModelLoss(g, logits, targets), parameters, inputs, optimizer);
  return toModelBytes(g);
}

/** Inputs: parameters, input_ids and targets (B, T). Output: loss (mean over B x T). */
export function buildGptEvaluationGraph(config: GptConfig): Uint8Array {
  const g = new GraphBuilder('gpt_evaluation');
  const params = Object.fromEntries(gptParameters(config).map((p) => [p.name, g.input(p.name, 'float32', p.shape)]));
  const ids = g.input(INPUT_IDS, 'int64', ['B', config.contextLength]);
  const targets = g.input(TARGETS, 'int64', ['B', config.contextLength]);
  const { logits } = gptForward(g, ids, params, config, { attentionMask: null, positionIds: null, past: null, dropoutKey: null });
  g.output(languageModelLoss(g, logits, targets), LOSS);
  return toModelBytes(g);
}

export interface GptInferenceGraphOptions {
  /**
   * Declare the position_ids input. false builds the layout of model.onnx files exported
   * before it existed (positions from the cache's length), which serving must still accept.
   * @default true
   */
  readonly positionIds?: boolean;
}

/** model.onnx in the Hugging Face layout (file comment), the weights baked in. */
export function buildGptInferenceGraph(config: GptConfig, weights: Readonly<TensorValues>, options: GptInferenceGraphOptions = {}): Uint8Array {
  const g = new GraphBuilder('gpt_decoder');
  const params = Object.fromEntries(
    gptParameters(config).map((p) => {
      const w = weights[p.name];
      if (w === undefined || w.data.length !== p.shape.reduce((a, b) => a * b, 1)) {
        throw new Error(`GPT export: weight ${p.name} is missing or not of shape (${p.shape.join(', ')})`);
      }
      return [p.name, g.initializer(p.name, { dtype: 'float32', dims: p.shape, values: w.data })];
    }),
  );
  const d = config.nEmbd / config.nHead;
  const ids = g.input(INPUT_IDS, 'int64', [BATCH, SEQUENCE]);
  const mask = g.input(ATTENTION_MASK, 'int64', [BATCH, TOTAL]);
  const positionIds = (options.positionIds ?? true) ? g.input(POSITION_IDS, 'int64', [BATCH, SEQUENCE]) : null;
  const past = Array.from({ length: config.nLayer }, (_, i) => ({
    key: g.input(pastKeyName(i), 'float32', [BATCH, config.nHead, PAST, d]),
    value: g.input(pastValueName(i), 'float32', [BATCH, config.nHead, PAST, d]),
  }));
  const { logits, presents } = gptForward(g, ids, params, config, { attentionMask: mask, positionIds, past, dropoutKey: null });
  g.output(logits, LOGITS);
  presents.forEach((present, i) => {
    g.output(present.key, presentKeyName(i));
    g.output(present.value, presentValueName(i));
  });
  return toModelBytes(g);
}
