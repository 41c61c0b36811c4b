/**
 * Linear and logistic regression solved to convergence on the whole training set, as
 * scikit-learn's LinearRegression and LogisticRegression (lbfgs) do, instead of mini-batch steps:
 *
 *   objective(W, b) = mean task loss over the rows + (l2 / 2) |W|^2      (the bias is not penalised)
 *
 * One ONNX graph gives a chunk's mean loss and its gradient for every parameter (autodiff over
 * the network's forward and the task loss, as the training step's backward pass); chunks of
 * the source are summed here, and optim/lbfgs.ts walks the parameters in float64. The
 * evaluation and inference graphs are graphs.ts's, so the saved model is the same as after
 * mini-batch training.
 */
import * as ort from 'onnxruntime-node';
import type { InferencePreprocessing } from '../artifact/model-description.ts';
import type { Batch } from '../data/batch.ts';
import { createSession, type EngineOptions } from '../engine/session.ts';
import { gradients } from '../graph/autodiff.ts';
import { GraphBuilder } from '../graph/builder.ts';
import { toModelBytes } from '../graph/proto.ts';
import { minimizeLbfgs, type LbfgsResult } from '../optim/lbfgs.ts';
import { BATCH_X, BATCH_Y, buildEvaluationGraph, buildInferenceGraph, LOSS, type GraphSpec } from './graphs.ts';
import { Linear } from './linear.ts';
import { batchFeeds, evaluationOf } from './onnx-trainable-model.ts';
import { targetShape, taskLoss } from './task.ts';
import type { Evaluation, ModelConfig } from './trainable-model.ts';

/** What the fit reads of the data: every row once, in chunks (BatchSource is one). */
export interface RowSource {
  readonly rows: number;
  inOrder(batchSize: number): AsyncGenerator<Batch>;
}

export interface FullBatchFitOptions {
  /** Weight of the L2 penalty on the weights (0 = none); scikit-learn's LogisticRegression(C) is 1 / (C x rows). */
  readonly l2: number;
  readonly maxIterations: number;
  readonly gradientTolerance: number;
  readonly onIteration?: (iteration: number, loss: number, gradientMax: number) => void;
}

/** Rows per ONNX Runtime run when summing the loss and gradient; bounds the memory a pass needs. */
const CHUNK_ROWS = 65_536;
const gradientName = (parameter: string): string => `${parameter}:grad`;

export class FullBatchModel {
  /** Current parameters by name, float32 as the graphs take them. */
  private values: Map<string, Float32Array>;

  private constructor(
    readonly config: ModelConfig,
    private readonly spec: GraphSpec,
    private readonly lossSession: ort.InferenceSession,
    private readonly evalSession: ort.InferenceSession,
  ) {
    // Zeros, as the Linear network initialises: the objective is convex, so the start only changes the path.
    this.values = new Map(spec.network.parameters.map((p) => [p.name, new Float32Array(size(p.shape))]));
  }

  static async create(config: ModelConfig, engine: EngineOptions = {}): Promise<FullBatchModel> {
    if (config.algorithm !== 'linear-regression' && config.algorithm !== 'logistic-regression') {
      throw new Error(`full-batch fitting is for linear-regression and logistic-regression, not ${config.algorithm}`);
    }
    const spec: GraphSpec = { network: new Linear({ inputSize: config.inputSize, outputSize: config.outputSize }), task: config.task, inputSize: config.inputSize, outputSize: config.outputSize };
    const lossSession = await createSession(buildLossGradientGraph(spec), engine);
    try {
      return new FullBatchModel(config, spec, lossSession, await createSession(buildEvaluationGraph(spec), engine));
    } catch (error) {
      await lossSession.release();
      throw error;
    }
  }

  /** Minimises the objective over every row of `source`, leaving the model at the minimum found. */
  async fit(source: RowSource, options: FullBatchFitOptions): Promise<LbfgsResult> {
    const parameters = this.spec.network.parameters;
    const penalised = new Set(parameters.filter((p) => p.name.endsWith('.weight')).map((p) => p.name));
    const start = this.flatten();
    const result = await minimizeLbfgs(
      async (x) => {
        this.unflatten(x);
        const sums = new Map(parameters.map((p) => [p.name, new Float64Array(size(p.shape))]));
        let lossSum = 0;
        for await (const batch of source.inOrder(CHUNK_ROWS)) {
          const feeds: Record<string, ort.Tensor> = { ...batchFeeds(this.config, batch), ...this.parameterFeeds() };
          const out = await this.lossSession.run(feeds);
          lossSum += ((out[LOSS] as ort.Tensor).data[0] as number) * batch.size;
          for (const p of parameters) {
            const grad = (out[gradientName(p.name)] as ort.Tensor).data as Float32Array;
            const sum = sums.get(p.name)!;
            for (let i = 0; i < grad.length; i++) sum[i] = sum[i]! + grad[i]! * batch.size;
          }
        }
        let loss = lossSum / source.rows;
        const gradient = new Float64Array(x.length);
        let offset = 0;
        for (const p of parameters) {
          const sum = sums.get(p.name)!;
          for (let i = 0; i < sum.length; i++) {
            const w = x[offset + i]!;
            const penalty = penalised.has(p.name) ? options.l2 : 0;
            gradient[offset + i] = sum[i]! / source.rows + penalty * w;
            loss += 0.5 * penalty * w * w;
          }
          offset += sum.length;
        }
        return { loss, gradient };
      },
      start,
      { maxIterations: options.maxIterations, gradientTolerance: options.gradientTolerance, onIteration: options.onIteration },
    );
    this.unflatten(result.x);
    return result;
  }

  /** Forward pass and loss (without the penalty), as the mini-batch models report it. */
  async evaluate(batch: Batch): Promise<Evaluation> {
    return evaluationOf(this.config.task, await this.evalSession.run({ ...batchFeeds(this.config, batch), ...this.parameterFeeds() }));
  }

  /** model.onnx with the current parameters, as OnnxTrainableModel.exportInference writes it. */
  exportInference(preprocessing: InferencePreprocessing): Uint8Array {
    const values = Object.fromEntries(this.spec.network.parameters.map((p) => [p.name, { dims: p.shape, data: this.values.get(p.name)! }]));
    return buildInferenceGraph(this.spec, values, preprocessing);
  }

  async release(): Promise<void> {
    await this.lossSession.release();
    await this.evalSession.release();
  }

  private parameterFeeds(): Record<string, ort.Tensor> {
    return Object.fromEntries(this.spec.network.parameters.map((p) => [p.name, new ort.Tensor('float32', this.values.get(p.name)!, [...p.shape])]));
  }

  private flatten(): Float64Array {
    const flat = new Float64Array(this.spec.network.parameters.reduce((n, p) => n + size(p.shape), 0));
    let offset = 0;
    for (const p of this.spec.network.parameters) {
      flat.set(this.values.get(p.name)!, offset);
      offset += size(p.shape);
    }
    return flat;
  }

  private unflatten(flat: Float64Array): void {
    let offset = 0;
    for (const p of this.spec.network.parameters) {
      const n = size(p.shape);
      this.values.set(p.name, Float32Array.from(flat.subarray(offset, offset + n)));
      offset += n;
    }
  }
}

/** Inputs: parameters, x (B, F), y. Outputs: loss (the chunk's mean) and `<name>:grad` for every parameter. */
function buildLossGradientGraph(spec: GraphSpec): Uint8Array {
  const g = new GraphBuilder('loss_gradient');
  const params = spec.network.parameters.map((p) => g.input(p.name, 'float32', p.shape));
  const byName = Object.fromEntries(spec.network.parameters.map((p, i) => [p.name, params[i]!]));
  const x = g.input(BATCH_X, 'float32', ['B', spec.inputSize]); // (B, F)
  const y = g.input(BATCH_Y, 'float32', targetShape(spec.task, spec.outputSize)); // (B, T) or (B)
  const loss = taskLoss(g, spec.task, spec.network.forward(g, x, byName, null), y); // ()
  g.output(loss, LOSS);
  gradients(g, loss, params).forEach((grad, i) => g.output(grad, gradientName(spec.network.parameters[i]!.name)));
  return toModelBytes(g);
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
