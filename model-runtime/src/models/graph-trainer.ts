/**
 * Runs a training graph built with training-step.ts, one ONNX Runtime run per optimizer step,
 * for any model: the parameters and optimizer state stay as ort.Tensor objects in JavaScript
 * between steps, and each step's `:next` outputs become the next step's inputs. The caller
 * feeds only its batch (and whatever else its graph declares); this adds the parameters, the
 * optimizer state, the buffers, the step's scalars and, for graphs with seeded in-graph dropout
 * (graph/dropout.ts), the run's seed and the step, so a resumed run draws the same masks.
 *
 * Buffers (torch's word: batch normalisation's running statistics) are carried like parameters,
 * fed in and read back as `:next` each step, fed to evaluation, kept in the state, but the
 * training graph computes their next values itself: no gradient, no optimizer, no weight decay.
 */
import * as ort from 'onnxruntime-node';
// The data pipeline's seeded generator (Mulberry32) and hash, so one seed drives everything random.
import { createRandom, hash32 } from '../data/random.ts';
import { createSession, type EngineOptions, type GraphOptimizationLevel } from '../engine/session.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';
import { optimizerStateNames, scalarInputValues } from '../optim/optimizers.ts';
import { initialValues } from './init.ts';
import type { ParameterSpec } from './network.ts';
import type { TrainingState } from './trainable-model.ts';
import { LOSS, nextName } from './training-step.ts';

/** int64 scalar inputs of graph/dropout.ts's dropoutKey(seed, step), fed by GraphTrainer when declared. */
export const DROPOUT_SEED_INPUT = 'dropout_seed';
export const DROPOUT_STEP_INPUT = 'dropout_step';

/**
 * Seed streams, so weights draw from a sequence of their own (the data pipeline uses 1-3, the
 * tabular dropout masks 102).
 */
const WEIGHTS_STREAM = 101;

export type TensorValues = Record<string, { readonly dims: readonly number[]; readonly data: Float32Array }>;

export interface GraphTrainerOptions {
  readonly parameters: readonly ParameterSpec[];
  /**
   * Tensors the training graph takes in and outputs as `<name>:next` beside the parameters, that
   * the evaluation graph takes too, but that the optimizer does not update. @default none
   */
  readonly buffers?: readonly ParameterSpec[];
  readonly optimizer: OptimizerConfig;
  /** ONNX bytes: declareTrainingInputs + the model's forward and loss + appendTrainingStep. */
  readonly trainingGraph: Uint8Array;
  /** ONNX bytes taking the parameters and buffers (same names) and the batch; its outputs are returned by evaluate(). */
  readonly evaluationGraph: Uint8Array;
  /** Seeds the initial weights and the in-graph dropout. */
  readonly seed: number;
  readonly engine?: EngineOptions;
  /** The training session's graph optimisation level, where it should differ from `engine`'s. */
  readonly trainingGraphOptimizationLevel?: GraphOptimizationLevel;
}

export class GraphTrainer {
  private steps = 0;
  /** Parameters, optimizer state and buffers by graph-input name, fed to every training run. */
  private tensors = new Map<string, ort.Tensor>();
  /**
   * Same-shaped buffers the next run writes its `:next` outputs into (ONNX Runtime fills
   * pre-allocated outputs); after the run the two sets swap, so no step allocates parameters.
   */
  private spare = new Map<string, ort.Tensor>();
  private readonly feedsDropout: boolean;
  private readonly buffers: readonly ParameterSpec[];

  private constructor(
    private readonly options: GraphTrainerOptions,
    private readonly trainSession: ort.InferenceSession,
    private readonly evalSession: ort.InferenceSession,
  ) {
    this.feedsDropout = trainSession.inputNames.includes(DROPOUT_SEED_INPUT) && trainSession.inputNames.includes(DROPOUT_STEP_INPUT);
    this.buffers = options.buffers ?? [];
    this.initialise();
  }

  static async create(options: GraphTrainerOptions): Promise<GraphTrainer> {
    const level = options.trainingGraphOptimizationLevel;
    const trainSession = await createSession(options.trainingGraph, { ...options.engine, ...(level === undefined ? {} : { graphOptimizationLevel: level }) });
    try {
      const evalSession = await createSession(options.evaluationGraph, options.engine ?? {});
      return new GraphTrainer(options, trainSession, evalSession);
    } catch (error) {
      await trainSession.release();
      throw error;
    }
  }

  /** Parameters from the seeded initialisers, optimizer state at zero, buffers at their initial values, step 0. */
  private initialise(): void {
    const random = createRandom(hash32(this.options.seed, WEIGHTS_STREAM));
    for (const p of this.options.parameters) {
      this.tensors.set(p.name, new ort.Tensor('float32', initialValues(p.init, p.shape, random), [...p.shape]));
      for (const s of optimizerStateNames(this.options.optimizer, p.name)) {
        this.tensors.set(s, new ort.Tensor('float32', new Float32Array(p.shape.reduce((a, b) => a * b, 1)), [...p.shape]));
      }
    }
    // After the parameters, so the weights draw the same numbers with buffers as without.
    for (const b of this.buffers) this.tensors.set(b.name, new ort.Tensor('float32', initialValues(b.init, b.shape, random), [...b.shape]));
    this.spare = cloneShapes(this.tensors);
    this.steps = 0;
  }

  /** Optimizer steps taken so far (restored by setState). */
  get step(): number {
    return this.steps;
  }

  /** One optimizer step over `batch` (the graph's other inputs, by name). Returns the loss. */
  async trainStep(batch: Readonly<Record<string, ort.Tensor>>): Promise<number> {
    const feeds: Record<string, ort.Tensor> = { ...Object.fromEntries(this.tensors), ...batch };
    for (const [name, value] of Object.entries(scalarInputValues(this.options.optimizer, this.steps))) {
      feeds[name] = new ort.Tensor('float32', Float32Array.of(value), []);
    }
    if (this.feedsDropout) {
      feeds[DROPOUT_SEED_INPUT] = new ort.Tensor('int64', BigInt64Array.of(BigInt(this.options.seed)), []);
      feeds[DROPOUT_STEP_INPUT] = new ort.Tensor('int64', BigInt64Array.of(BigInt(this.steps)), []);
    }
    const fetches: Record<string, ort.Tensor | null> = { [LOSS]: null };
    for (const [name, buffer] of this.spare) fetches[nextName(name)] = buffer;
    const results = await this.trainSession.run(feeds, fetches);
    [this.tensors, this.spare] = [this.spare, this.tensors];
    this.steps += 1;
    return (results[LOSS] as ort.Tensor).data[0] as number;
  }

  /** The evaluation graph's outputs for `batch`, with the current parameters and buffers. */
  async evaluate(batch: Readonly<Record<string, ort.Tensor>>): Promise<ort.InferenceSession.ReturnType> {
    const feeds: Record<string, ort.Tensor> = { ...batch };
    for (const p of [...this.options.parameters, ...this.buffers]) feeds[p.name] = this.tensors.get(p.name)!;
    return this.evalSession.run(feeds);
  }

  /** The current parameters (views, not copies: export them before the next step). */
  parameterValues(): TensorValues {
    return this.values(this.options.parameters);
  }

  /** The current buffers (views, as parameterValues). */
  bufferValues(): TensorValues {
    return this.values(this.buffers);
  }

  private values(specs: readonly ParameterSpec[]): TensorValues {
    const values: TensorValues = {};
    for (const p of specs) values[p.name] = { dims: p.shape, data: this.tensors.get(p.name)!.data as Float32Array };
    return values;
  }

  /** A copy of the parameters, optimizer state and buffers, for a checkpoint or the best model so far. */
  getState(): TrainingState {
    const tensors: TensorValues = {};
    for (const [name, t] of this.tensors) tensors[name] = { dims: [...t.dims], data: Float32Array.from(t.data as Float32Array) };
    return { step: this.steps, tensors };
  }

  setState(state: TrainingState): void {
    const expected = [...this.tensors.keys()];
    const missing = expected.filter((n) => !(n in state.tensors));
    const extra = Object.keys(state.tensors).filter((n) => !this.tensors.has(n));
    if (missing.length > 0 || extra.length > 0) {
      throw new Error(`training state does not fit this model: missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]`);
    }
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`training state step must be a non-negative integer, got ${state.step}`);
    const next = new Map<string, ort.Tensor>();
    for (const name of expected) {
      const own = this.tensors.get(name)!;
      const given = state.tensors[name]!;
      if (given.dims.length !== own.dims.length || given.dims.some((d, i) => d !== own.dims[i]) || given.data.length !== own.size) {
        throw new Error(`training state tensor ${name} has shape [${given.dims.join(', ')}], this model needs [${own.dims.join(', ')}]`);
      }
      next.set(name, new ort.Tensor('float32', Float32Array.from(given.data), [...own.dims]));
    }
    this.tensors = next;
    this.spare = cloneShapes(next);
    this.steps = state.step;
  }

  async release(): Promise<void> {
    await this.trainSession.release();
    await this.evalSession.release();
  }
}

/** Zeroed tensors of the same names and shapes. */
function cloneShapes(tensors: ReadonlyMap<string, ort.Tensor>): Map<string, ort.Tensor> {
  return new Map([...tensors].map(([name, t]) => [name, new ort.Tensor('float32', new Float32Array(t.size), [...t.dims])]));
}
