/**
 * TrainableModel over ONNX Runtime. The graphs are built once; between steps the parameters
 * and optimizer state stay as ort.Tensor objects in JavaScript, and each step's outputs become
 * the next step's inputs.
 */
import * as ort from 'onnxruntime-node';
import type { InferencePreprocessing } from '../artifact/model-description.ts';
import type { Batch } from '../data/batch.ts';
// The data pipeline's seeded generator (Mulberry32) and hash, so one seed drives everything random.
import { createRandom, hash32 } from '../data/random.ts';
import { createSession } from '../engine/session.ts';
import type { EngineOptions } from '../engine/session.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';
import { optimizerStateNames, scalarInputValues } from '../optim/optimizers.ts';
import { BATCH_X, BATCH_Y, buildEvaluationGraph, buildInferenceGraph, buildTrainingGraph, dropoutMaskName, LOSS, nextName, SCORE } from './graphs.ts';
import type { GraphSpec } from './graphs.ts';
import { initialValues } from './init.ts';
import type { Evaluation, ModelConfig, TrainableModel, TrainingState } from './trainable-model.ts';

type StateTensors = Record<string, { readonly dims: readonly number[]; readonly data: Float32Array }>;

/**
 * Seed streams, so weights and each step's dropout masks draw from separate sequences (and from
 * none of the data pipeline's streams, which use 1-3). A mask depends only on (seed, step,
 * layer), so a resumed run draws the masks an uninterrupted one would.
 */
const WEIGHTS_STREAM = 101;
const DROPOUT_STREAM = 102;

export class OnnxTrainableModel implements TrainableModel {
  private steps = 0;
  /** Parameters and optimizer state by graph-input name, fed to every training run. */
  private tensors = new Map<string, ort.Tensor>();
  /**
   * Same-shaped buffers the next run writes its `:next` outputs into (ONNX Runtime fills
   * pre-allocated outputs); after the run the two sets swap, so no step allocates parameters.
   */
  private spare = new Map<string, ort.Tensor>();

  private constructor(
    readonly config: ModelConfig,
    readonly optimizer: OptimizerConfig,
    private readonly spec: GraphSpec,
    private readonly trainSession: ort.InferenceSession,
    private readonly evalSession: ort.InferenceSession,
  ) {
    this.initialise();
  }

  static async create(config: ModelConfig, optimizer: OptimizerConfig, spec: GraphSpec, engine: EngineOptions): Promise<OnnxTrainableModel> {
    const trainSession = await createSession(buildTrainingGraph(spec, optimizer), engine);
    const evalSession = await createSession(buildEvaluationGraph(spec), engine);
    return new OnnxTrainableModel(config, optimizer, spec, trainSession, evalSession);
  }

  /** Parameters from the seeded initialisers, optimizer state at zero, step 0. */
  private initialise(): void {
    const random = createRandom(hash32(this.config.seed, WEIGHTS_STREAM));
    for (const p of this.spec.network.parameters) {
      this.tensors.set(p.name, new ort.Tensor('float32', initialValues(p.init, p.shape, random), [...p.shape]));
      for (const s of optimizerStateNames(this.optimizer, p.name)) {
        this.tensors.set(s, new ort.Tensor('float32', new Float32Array(p.shape.reduce((a, b) => a * b, 1)), [...p.shape]));
      }
    }
    this.spare = cloneShapes(this.tensors);
    this.steps = 0;
  }

  get step(): number {
    return this.steps;
  }

  async trainStep(batch: Batch): Promise<number> {
    const feeds: Record<string, ort.Tensor> = { ...Object.fromEntries(this.tensors), ...this.batchFeeds(batch) };
    for (const [name, value] of Object.entries(scalarInputValues(this.optimizer, this.steps))) {
      feeds[name] = new ort.Tensor('float32', Float32Array.of(value), []);
    }
    this.spec.network.dropoutWidths.forEach((width, i) => {
      feeds[dropoutMaskName(i)] = new ort.Tensor('float32', this.dropoutMask(batch.size, width, i), [batch.size, width]);
    });

    const fetches: Record<string, ort.Tensor | null> = { [LOSS]: null };
    for (const [name, buffer] of this.spare) fetches[nextName(name)] = buffer;
    const results = await this.trainSession.run(feeds, fetches);
    [this.tensors, this.spare] = [this.spare, this.tensors];
    this.steps += 1;
    return scalarOf(results[LOSS]);
  }

  async evaluate(batch: Batch): Promise<Evaluation> {
    const feeds: Record<string, ort.Tensor> = { ...this.batchFeeds(batch) };
    for (const p of this.spec.network.parameters) feeds[p.name] = this.tensors.get(p.name)!;
    const results = await this.evalSession.run(feeds);
    const score = scalarOf(results[SCORE]);
    const classification = this.config.task !== 'regression';
    return { loss: scalarOf(results[LOSS]), correct: classification ? Math.round(score) : null, sumSquaredError: classification ? null : score };
  }

  getState(): TrainingState {
    const tensors: StateTensors = {};
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

  exportInference(preprocessing: InferencePreprocessing): Uint8Array {
    const { featureMean, featureStd, targetMean, targetStd } = preprocessing;
    const f = this.config.inputSize;
    if (featureMean.length !== f || featureStd.length !== f) {
      throw new Error(`preprocessing: featureMean and featureStd need ${f} values (one per feature), got ${featureMean.length} and ${featureStd.length}`);
    }
    if (this.config.task === 'regression' && targetMean !== null && (targetMean.length !== this.config.outputSize || targetStd?.length !== this.config.outputSize)) {
      throw new Error(`preprocessing: targetMean and targetStd need ${this.config.outputSize} values (one per target)`);
    }
    const parameters: StateTensors = {};
    for (const p of this.spec.network.parameters) parameters[p.name] = { dims: p.shape, data: this.tensors.get(p.name)!.data as Float32Array };
    return buildInferenceGraph(this.spec, parameters, preprocessing);
  }

  async release(): Promise<void> {
    await this.trainSession.release();
    await this.evalSession.release();
  }

  private batchFeeds(batch: Batch): Record<string, ort.Tensor> {
    const { size, x, y } = batch;
    const f = this.config.inputSize;
    const t = this.config.task === 'regression' ? this.config.outputSize : 1;
    if (!Number.isInteger(size) || size < 1) throw new Error(`batch size must be a positive integer, got ${size}`);
    if (x.length !== size * f) throw new Error(`batch x has ${x.length} values; ${size} rows x ${f} features need ${size * f}`);
    if (y.length !== size * t) throw new Error(`batch y has ${y.length} values; ${size} rows x ${t} target(s) need ${size * t}`);
    return {
      [BATCH_X]: new ort.Tensor('float32', x, [size, f]),
      [BATCH_Y]: new ort.Tensor('float32', y, this.config.task === 'regression' ? [size, t] : [size]),
    };
  }

  /** Inverted dropout mask for hidden layer `layer` at the current step: 0 or 1 / (1 - p). */
  private dropoutMask(rows: number, width: number, layer: number): Float32Array {
    const p = this.config.dropout;
    const keep = 1 / (1 - p);
    const random = createRandom(hash32(this.config.seed, DROPOUT_STREAM, this.steps, layer));
    const mask = new Float32Array(rows * width);
    for (let i = 0; i < mask.length; i++) mask[i] = random() < p ? 0 : keep;
    return mask;
  }
}

/** Zeroed tensors of the same names and shapes. */
function cloneShapes(tensors: ReadonlyMap<string, ort.Tensor>): Map<string, ort.Tensor> {
  return new Map([...tensors].map(([name, t]) => [name, new ort.Tensor('float32', new Float32Array(t.size), [...t.dims])]));
}

function scalarOf(value: ort.OnnxValue | undefined): number {
  return (value as ort.Tensor).data[0] as number;
}
