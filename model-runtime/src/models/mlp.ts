/**
 * Multi-layer perceptron: hidden layers of Linear -> activation -> dropout, then a linear output
 * layer. Output is regression values or class logits, as the task's loss reads it.
 */
import type { GraphBuilder } from '../graph/builder.ts';
import type { Value } from '../graph/types.ts';
import type { Network, ParameterSpec } from './network.ts';

/**
 * The defaults users get (hidden_sizes 64,64; activation relu; dropout 0) live in the single
 * hyperparameter table, contract/hyperparameters.ts; by the time a config reaches here every
 * field is resolved.
 */
export interface MlpConfig {
  /** F: input features. */
  readonly inputSize: number;
  /** Hidden layer widths H1, H2, ...; e.g. [64, 64]. */
  readonly hiddenSizes: readonly number[];
  /** O: outputs (targets, 1 binary logit, or K class logits). */
  readonly outputSize: number;
  /** Nonlinearity after each hidden layer. */
  readonly activation: 'relu' | 'tanh' | 'sigmoid';
  /** Probability of zeroing a hidden activation during training; 0 = off. */
  readonly dropout: number;
}

export class Mlp implements Network {
  readonly parameters: readonly ParameterSpec[];
  readonly dropoutWidths: readonly number[];

  constructor(readonly config: MlpConfig) {
    const widths = [config.inputSize, ...config.hiddenSizes, config.outputSize];
    const hiddenInit = config.activation === 'relu' ? 'he-uniform' : 'glorot-uniform';
    const parameters: ParameterSpec[] = [];
    for (let i = 0; i + 1 < widths.length; i++) {
      const isOutput = i + 2 === widths.length;
      const name = isOutput ? 'out' : `fc${i + 1}`;
      parameters.push({ name: `${name}.weight`, shape: [widths[i + 1]!, widths[i]!], init: isOutput ? 'glorot-uniform' : hiddenInit }); // (out, in)
      parameters.push({ name: `${name}.bias`, shape: [widths[i + 1]!], init: 'zeros' }); // (out)
    }
    this.parameters = parameters;
    this.dropoutWidths = config.dropout > 0 ? config.hiddenSizes : [];
  }

  forward(g: GraphBuilder, x: Value, p: Readonly<Record<string, Value>>, masks: readonly Value[] | null): Value {
    let h = x; // (B, F)
    this.config.hiddenSizes.forEach((_, i) => {
      h = g.gemm(h, p[`fc${i + 1}.weight`]!, p[`fc${i + 1}.bias`]!, { transB: true }); // (B, H_i)
      h = this.activate(g, h); // (B, H_i)
      if (masks !== null) h = g.mul(h, masks[i]!); // (B, H_i), mask entries are 0 or 1 / (1 - p)
    });
    return g.gemm(h, p['out.weight']!, p['out.bias']!, { transB: true }); // (B, O)
  }

  private activate(g: GraphBuilder, h: Value): Value {
    switch (this.config.activation) {
      case 'relu': return g.relu(h);
      case 'tanh': return g.tanh(h);
      case 'sigmoid': return g.sigmoid(h);
    }
  }
}
