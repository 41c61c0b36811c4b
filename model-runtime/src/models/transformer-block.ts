/**
 * nanoGPT's Block, shared by the GPT decoder (causal) and the text classifier's encoder
 * (non-causal):
 *
 *     x = x + attn(ln_1(x))     multi-head self-attention, masks applied before the Softmax
 *     x = x + mlp(ln_2(x))      c_fc (4C) -> GELU -> c_proj (C)
 *
 * Parameter names are nanoGPT's under a prefix ('h.0' gives 'h.0.ln_1.weight',
 * 'h.0.attn.c_attn.weight', ...). Weights are stored (in, out), as GPT-2's Conv1D keeps them
 * (and Hugging Face's GPT-2 checkpoints): y = x W + b is one MatMul over (B, T, C) whose weight
 * gradient the MatMul rule folds into a single Gemm. nanoGPT's nn.Linear stores the transpose.
 *
 * Attention with a KV cache: `past` holds the keys and values of the P positions already seen
 * (B, H, P, D); this call's T positions are appended and returned as `present` (B, H, P + T, D),
 * the layout of Hugging Face's ONNX exports (present.{i}.key / .value). Causal masking counts
 * query positions from P, so T new tokens after a cache of P attend exactly as the last T rows
 * of one pass over P + T tokens would.
 */
import type { GraphBuilder } from '../graph/builder.ts';
import { dropout } from '../graph/dropout.ts';
import type { Dim, Value } from '../graph/types.ts';
import type { ParameterSpec } from './network.ts';

export interface TransformerBlockConfig {
  /** C: the width of the residual stream. */
  readonly nEmbd: number;
  /** H: attention heads; C must divide by H (head size D = C / H). */
  readonly nHead: number;
  /** Biases in the linear layers and LayerNorms (nanoGPT's `bias`). */
  readonly bias: boolean;
  /** Dropout rate on the attention probabilities and after each residual branch (training only). */
  readonly dropout: number;
  /**
   * Blocks in the stack, for GPT-2's scaled initialisation of the residual projections
   * (c_proj weights get std 0.02 / sqrt(2 n_layer)). @default 1
   */
  readonly nLayer?: number;
  /** GELU form: 'tanh' (GPT-2's approximation) or 'erf' (torch.nn.GELU's default). @default 'tanh' */
  readonly gelu?: 'tanh' | 'erf';
}

export interface TransformerBlockInputs {
  /** True: query i sees keys 0..P+i only (a decoder). False: every key (an encoder). */
  readonly causal: boolean;
  /** (B, S) float32 or int64, 1 = attend, 0 = padding, S = P + T; null = attend to all. */
  readonly attentionMask: Value | null;
  /** The cache: keys and values (B, H, P, D) of earlier positions; null = none. */
  readonly past: { readonly key: Value; readonly value: Value } | null;
  /**
   * Training only: the key from graph/dropout.ts's dropoutKey and the first dropout site of this
   * block; the block uses DROPOUT_SITES_PER_BLOCK sites from there. null = no dropout.
   */
  readonly dropout: { readonly key: Value; readonly site: number } | null;
}

export interface TransformerBlockOutput {
  /** (B, T, C) */
  readonly output: Value;
  /** Keys and values of all P + T positions, (B, H, P + T, D), for the next step's `past`. */
  readonly present: { readonly key: Value; readonly value: Value };
}

/** Dropout sites one block uses: attention probabilities, attention output, MLP output. */
export const DROPOUT_SITES_PER_BLOCK = 3;

/** nanoGPT's initialisation std for every weight but the residual projections. */
export const INIT_STD = 0.02;

/** `prefix.name`, or `name` for an empty prefix. */
export function parameterName(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

function checkConfig(config: TransformerBlockConfig): void {
  const { nEmbd, nHead, dropout: rate } = config;
  if (!Number.isInteger(nEmbd) || nEmbd < 1) throw new Error(`transformer block: n_embd must be a positive integer, got ${nEmbd}`);
  if (!Number.isInteger(nHead) || nHead < 1 || nEmbd % nHead !== 0) {
    throw new Error(`transformer block: n_embd (${nEmbd}) must divide by n_head (${nHead}) into equal heads`);
  }
  if (!(rate >= 0 && rate < 1)) throw new Error(`transformer block: dropout must be in [0, 1), got ${rate}`);
  const nLayer = config.nLayer ?? 1;
  if (!Number.isInteger(nLayer) || nLayer < 1) throw new Error(`transformer block: n_layer must be a positive integer, got ${nLayer}`);
}

/** The block's parameters in nanoGPT's order, with GPT-2's initialisation. */
export function blockParameters(prefix: string, config: TransformerBlockConfig): ParameterSpec[] {
  checkConfig(config);
  const c = config.nEmbd;
  const name = (n: string): string => parameterName(prefix, n);
  const projection = { normal: INIT_STD / Math.sqrt(2 * (config.nLayer ?? 1)) };
  const params: ParameterSpec[] = [];
  const layerNorm = (ln: string): void => {
    params.push({ name: name(`${ln}.weight`), shape: [c], init: 'ones' });
    if (config.bias) params.push({ name: name(`${ln}.bias`), shape: [c], init: 'zeros' });
  };
  const linear = (layer: string, fanIn: number, fanOut: number, init: ParameterSpec['init']): void => {
    params.push({ name: name(`${layer}.weight`), shape: [fanIn, fanOut], init }); // (in, out)
    if (config.bias) params.push({ name: name(`${layer}.bias`), shape: [fanOut], init: 'zeros' });
  };
  layerNorm('ln_1');
  linear('attn.c_attn', c, 3 * c, { normal: INIT_STD });
  linear('attn.c_proj', c, c, projection);
  layerNorm('ln_2');
  linear('mlp.c_fc', c, 4 * c, { normal: INIT_STD });
  linear('mlp.c_proj', 4 * c, c, projection);
  return params;
}

/** One block over x (B, T, C); see the file comment. */
export function transformerBlock(
  g: GraphBuilder,
  x: Value,
  params: Readonly<Record<string, Value>>,
  prefix: string,
  config: TransformerBlockConfig,
  inputs: TransformerBlockInputs,
): TransformerBlockOutput {
  checkConfig(config);
  if (x.shape.length !== 3 || x.shape[2] !== config.nEmbd) {
    throw new Error(`transformer block ${prefix}: input ${x.name} must be (B, T, ${config.nEmbd}), got (${x.shape.join(', ')})`);
  }
  const p = (n: string): Value => {
    const value = params[parameterName(prefix, n)];
    if (value === undefined) throw new Error(`transformer block ${prefix}: parameter ${parameterName(prefix, n)} is missing`);
    return value;
  };
  const optional = (n: string): Value | null => (config.bias ? p(n) : null);
  const site = (k: number): number => (inputs.dropout === null ? 0 : inputs.dropout.site + k);
  const drop = (v: Value, k: number): Value => (inputs.dropout === null ? v : dropout(g, v, config.dropout, inputs.dropout.key, site(k)));

  const attention = selfAttention(g, g.layerNorm(x, p('ln_1.weight'), optional('ln_1.bias')), p, optional, config, inputs, drop); // (B, T, C)
  const afterAttention = g.add(x, attention.output); // (B, T, C)

  const h = g.layerNorm(afterAttention, p('ln_2.weight'), optional('ln_2.bias')); // (B, T, C)
  const hidden = g.gelu(linear(g, h, p('mlp.c_fc.weight'), optional('mlp.c_fc.bias')), config.gelu ?? 'tanh'); // (B, T, 4C)
  const mlp = drop(linear(g, hidden, p('mlp.c_proj.weight'), optional('mlp.c_proj.bias')), 2); // (B, T, C)
  return { output: g.add(afterAttention, mlp), present: attention.present };
}

/** x W + b over the last axis; W is (in, out). */
function linear(g: GraphBuilder, x: Value, weight: Value, bias: Value | null): Value {
  const y = g.matmul(x, weight);
  return bias === null ? y : g.add(y, bias);
}

function selfAttention(
  g: GraphBuilder,
  x: Value, // (B, T, C), already normalised
  p: (n: string) => Value,
  optional: (n: string) => Value | null,
  config: TransformerBlockConfig,
  inputs: TransformerBlockInputs,
  drop: (v: Value, site: number) => Value,
): { output: Value; present: { key: Value; value: Value } } {
  const [b, t] = x.shape as [Dim, Dim, Dim];
  const c = config.nEmbd;
  const heads = config.nHead;
  const d = c / heads;

  // c_attn's output split three ways is sliced from the weight, not from the (B, T, 3C) output:
  // the gradient then pads (C, 3C) weight slices instead of (B, T, 3C) activations.
  const weight = p('attn.c_attn.weight'); // (C, 3C)
  const bias = optional('attn.c_attn.bias'); // (3C)
  const project = (k: number): Value =>
    linear(g, x, g.slice(weight, [k * c], [(k + 1) * c], [1]), bias === null ? null : g.slice(bias, [k * c], [(k + 1) * c], [0])); // (B, T, C)
  const toHeads = (v: Value): Value => g.transpose(g.reshape(v, [b, t, heads, d]), [0, 2, 1, 3]); // (B, H, T, D)
  const q = toHeads(project(0));
  let k = toHeads(project(1));
  let v = toHeads(project(2));

  // The key length S = P + T: the attention mask's own length names it when there is one.
  const keyLength: Dim = inputs.past === null ? t : (inputs.attentionMask?.shape[1] ?? '?');
  if (inputs.past !== null) {
    const { key, value } = inputs.past;
    for (const [role, cached] of [['key', key], ['value', value]] as const) {
      if (cached.shape.length !== 4 || cached.shape[1] !== heads || cached.shape[3] !== d || cached.dtype !== x.dtype) {
        throw new Error(`transformer block: past ${role} ${cached.name} must be ${x.dtype} (B, ${heads}, P, ${d}), got ${cached.dtype} (${cached.shape.join(', ')})`);
      }
    }
    // Declared with the key length's name rather than the builder's '?', so masks line up.
    const append = (cached: Value, fresh: Value): Value => g.node('Concat', [cached, fresh], { axis: { int: 2 } }, x.dtype, [b, heads, keyLength, d]);
    k = append(key, k); // (B, H, S, D)
    v = append(value, v); // (B, H, S, D)
  }

  let scores = g.mul(g.matmul(q, g.transpose(k, [0, 1, 3, 2])), g.scalar(1 / Math.sqrt(d), x.dtype)); // (B, H, T, S)
  const keep = attentionKeep(g, inputs, q, k, b, t, keyLength);
  if (keep !== null) scores = g.maskScores(scores, keep);
  const probabilities = drop(g.softmax(scores, -1), 0); // (B, H, T, S)
  const attended = g.matmul(probabilities, v); // (B, H, T, D)
  const merged = g.reshape(g.transpose(attended, [0, 2, 1, 3]), [b, t, c]); // (B, T, C)
  const output = drop(linear(g, merged, p('attn.c_proj.weight'), optional('attn.c_proj.bias')), 1); // (B, T, C)
  return { output, present: { key: k, value: v } };
}

/** bool, true where query i may see key j; broadcasts to (B, H, T, S). null: nothing masked. */
function attentionKeep(g: GraphBuilder, inputs: TransformerBlockInputs, q: Value, k: Value, b: Dim, t: Dim, s: Dim): Value | null {
  let causal: Value | null = null;
  if (inputs.causal) {
    if (inputs.past === null && typeof t === 'number') {
      causal = g.causalMask(t); // (T, T) constant
    } else {
      // Query i sits at absolute position P + i with P = S - T: it sees keys j < P + i + 1.
      const lengthOf = (v: Value): Value => g.gather(g.shapeOf(v), g.scalar(2, 'int64')); // int64 scalar
      const [queries, keys] = [lengthOf(q), lengthOf(k)];
      const one = g.scalar(1, 'int64');
      const limit = g.unsqueeze(g.add(g.range(queries), g.add(g.sub(keys, queries), one)), [1]); // (T, 1)
      causal = g.node('Less', [g.range(keys), limit], {}, 'bool', [t, s]); // (T, S)
    }
  }
  let padding: Value | null = null;
  if (inputs.attentionMask !== null) {
    const mask = inputs.attentionMask;
    if (mask.shape.length !== 2 || (mask.dtype !== 'int64' && mask.dtype !== 'float32')) {
      throw new Error(`transformer block: attention_mask ${mask.name} must be int64 or float32 (B, S), got ${mask.dtype} (${mask.shape.join(', ')})`);
    }
    padding = g.paddingMask(mask.dtype === 'int64' ? mask : g.cast(mask, 'int64')); // (B, 1, 1, S)
  }
  if (causal === null || padding === null) return causal ?? padding;
  return g.node('And', [causal, padding], {}, 'bool', [b, 1, t, s]); // (B, 1, T, S)
}
