/**
 * A CNN classifier over examples of a fixed shape (an image's pixels, a clip's samples), as the
 * three graphs every family builds from one forward pass:
 *
 *   training     raw batch -> front end -> CNN -> softmax cross-entropy -> backward -> update
 *   evaluation   raw batch -> ... -> loss and class probabilities (no update)
 *   inference    model.onnx: raw batch -> ... -> probabilities, parameters baked in
 *
 * The front end (normalisation of pixels, the log-mel spectrogram of audio) sits inside every
 * graph, so the served model takes what a client sends, decoded, and nothing else.
 *
 * With batch normalisation the running statistics are GraphTrainer buffers: the training graph
 * normalises by the batch and outputs their next values, the evaluation graph normalises by them
 * (inputs), and model.onnx holds them as initializers of its BatchNormalization nodes.
 *
 * ConvClassifier runs them through GraphTrainer, one ONNX Runtime run per optimizer step.
 */
import * as ort from 'onnxruntime-node';
import type { Batch } from '../data/batch.ts';
import type { EngineOptions } from '../engine/session.ts';
import { GraphBuilder } from '../graph/builder.ts';
import { toModelBytes } from '../graph/proto.ts';
import type { Value } from '../graph/types.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';
import { cnnForward, cnnParameters, cnnRunningStatistics, type CnnConfig, type CnnStatistics } from './cnn.ts';
import { GraphTrainer, type TensorValues } from './graph-trainer.ts';
import { softmaxCrossEntropy } from './losses.ts';
import type { ParameterSpec } from './network.ts';
import type { Evaluation, TrainingState } from './trainable-model.ts';
import { LOSS, appendTrainingStep, declareBufferInputs, declareTrainingInputs, outputBuffers } from './training-step.ts';

/** The graph input of the labels, (B) class ids as floats. */
export const CLASS_IDS = 'y';
/** The evaluation and inference graphs' output: (N, K) class probabilities. */
export const CLASS_PROBABILITIES = 'probabilities';

export interface ConvClassifierSpec {
  /** The graph input of the raw batch ('pixels', 'audio'). */
  readonly inputName: string;
  /** One example's shape as fed, e.g. (H, W, C) pixels or (S) samples. */
  readonly exampleShape: readonly number[];
  /** raw (B, ...exampleShape) -> (B, C, H, W), the CNN's input. */
  readonly frontEnd: (g: GraphBuilder, raw: Value) => Value;
  readonly cnn: CnnConfig;
}

function forward(g: GraphBuilder, spec: ConvClassifierSpec, params: Readonly<Record<string, Value>>, statistics: CnnStatistics): { logits: Value; updatedStatistics: Readonly<Record<string, Value>> } {
  const raw = g.input(spec.inputName, 'float32', ['B', ...spec.exampleShape]); // (B, ...)
  return cnnForward(g, spec.frontEnd(g, raw), params, spec.cnn, statistics); // logits (B, K)
}

export function buildTrainingGraph(spec: ConvClassifierSpec, optimizer: OptimizerConfig): Uint8Array {
  const g = new GraphBuilder('training_step');
  const parameters = cnnParameters(spec.cnn);
  const buffers = cnnRunningStatistics(spec.cnn);
  const inputs = declareTrainingInputs(g, parameters, optimizer);
  const running = declareBufferInputs(g, buffers);
  const { logits, updatedStatistics } = forward(g, spec, inputs.params, { mode: 'batch', running }); // (B, K)
  const y = g.input(CLASS_IDS, 'float32', ['B']); // (B)
  appendTrainingStep(g, softmaxCrossEntropy(g, logits, y), parameters, inputs, optimizer);
  outputBuffers(g, buffers, updatedStatistics);
  return toModelBytes(g);
}

export function buildEvaluationGraph(spec: ConvClassifierSpec): Uint8Array {
  const g = new GraphBuilder('evaluation');
  const params = Object.fromEntries(cnnParameters(spec.cnn).map((p) => [p.name, g.input(p.name, 'float32', p.shape)]));
  const running = declareBufferInputs(g, cnnRunningStatistics(spec.cnn));
  const { logits } = forward(g, spec, params, { mode: 'running', running }); // (B, K)
  const y = g.input(CLASS_IDS, 'float32', ['B']); // (B)
  g.output(softmaxCrossEntropy(g, logits, y), LOSS); // ()
  g.output(g.softmax(logits, 1), CLASS_PROBABILITIES); // (B, K)
  return toModelBytes(g);
}

/**
 * model.onnx: `inputName` (N, ...exampleShape) -> `probabilities` (N, K). `values` holds the
 * parameters and, with batch normalisation, the running statistics.
 */
export function buildInferenceGraph(spec: ConvClassifierSpec, values: TensorValues): Uint8Array {
  const g = new GraphBuilder('inference');
  const baked = (specs: readonly ParameterSpec[]): Record<string, Value> =>
    Object.fromEntries(
      specs.map((p) => {
        const value = values[p.name];
        if (value === undefined) throw new Error(`model.onnx needs a value for ${p.name}; none was given`);
        return [p.name, g.initializer(p.name, { dtype: 'float32', dims: p.shape, values: value.data })];
      }),
    );
  const params = baked(cnnParameters(spec.cnn));
  const { logits } = forward(g, spec, params, { mode: 'running', running: baked(cnnRunningStatistics(spec.cnn)) }); // (N, K)
  g.output(g.softmax(logits, 1), CLASS_PROBABILITIES); // (N, K)
  return toModelBytes(g);
}

/** One evaluated batch: its mean loss and each example's most probable class. */
export interface ClassifiedBatch {
  readonly loss: number;
  readonly predicted: Int32Array;
}

export class ConvClassifier {
  private constructor(
    readonly spec: ConvClassifierSpec,
    readonly parameters: readonly ParameterSpec[],
    private readonly trainer: GraphTrainer,
  ) {}

  static async create(spec: ConvClassifierSpec, optimizer: OptimizerConfig, seed: number, engine: EngineOptions = {}): Promise<ConvClassifier> {
    const parameters = cnnParameters(spec.cnn);
    const trainer = await GraphTrainer.create({
      parameters,
      buffers: cnnRunningStatistics(spec.cnn),
      optimizer,
      trainingGraph: buildTrainingGraph(spec, optimizer),
      evaluationGraph: buildEvaluationGraph(spec),
      seed,
      engine,
      // Without the NCHWc layout transformer: in a training step it adds a Reorder for every
      // activation the backward pass reads, and the step ran 10-20% slower with it (bench/cnn).
      trainingGraphOptimizationLevel: 'extended',
    });
    return new ConvClassifier(spec, parameters, trainer);
  }

  get step(): number {
    return this.trainer.step;
  }

  /** One optimizer step; `batch.x` is (B, ...exampleShape) row-major, `batch.y` (B) class ids. */
  trainStep(batch: Batch): Promise<number> {
    return this.trainer.trainStep(this.feeds(batch));
  }

  async classify(batch: Batch): Promise<ClassifiedBatch> {
    const results = await this.trainer.evaluate(this.feeds(batch));
    const probabilities = results[CLASS_PROBABILITIES]!.data as Float32Array;
    const k = this.spec.cnn.classes;
    const predicted = new Int32Array(batch.size);
    for (let i = 0; i < batch.size; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (probabilities[i * k + j]! > probabilities[i * k + best]!) best = j;
      predicted[i] = best;
    }
    return { loss: (results[LOSS]!.data as Float32Array)[0]!, predicted };
  }

  /** The training loop's view (train/fit.ts): loss and correct count. */
  async evaluate(batch: Batch): Promise<Evaluation> {
    const { loss, predicted } = await this.classify(batch);
    let correct = 0;
    predicted.forEach((p, i) => (correct += p === batch.y[i] ? 1 : 0));
    return { loss, correct, sumSquaredError: null };
  }

  getState(): TrainingState {
    return this.trainer.getState();
  }

  setState(state: TrainingState): void {
    this.trainer.setState(state);
  }

  /** model.onnx with the current parameters (and running statistics). */
  exportInference(): Uint8Array {
    return buildInferenceGraph(this.spec, { ...this.trainer.parameterValues(), ...this.trainer.bufferValues() });
  }

  /** The current parameters (views: copy before the next step), e.g. to hand to a peer. */
  parameterValues(): TensorValues {
    return this.trainer.parameterValues();
  }

  /** The current running statistics of batch normalisation (views, as parameterValues); empty without it. */
  runningStatistics(): TensorValues {
    return this.trainer.bufferValues();
  }

  release(): Promise<void> {
    return this.trainer.release();
  }

  private feeds(batch: Batch): Record<string, ort.Tensor> {
    return {
      [this.spec.inputName]: new ort.Tensor('float32', batch.x, [batch.size, ...this.spec.exampleShape]),
      [CLASS_IDS]: new ort.Tensor('float32', batch.y, [batch.size]),
    };
  }
}
