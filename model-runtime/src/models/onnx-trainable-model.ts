/**
 * TrainableModel for the tabular networks, over GraphTrainer (graph-trainer.ts): the graphs of
 * graphs.ts, the (B, F) feature batches, and dropout masks drawn in JavaScript per step.
 */
import * as ort from 'onnxruntime-node';
import type { InferencePreprocessing, Task } from '../artifact/model-description.ts';
import type { Batch } from '../data/batch.ts';
// The data pipeline's seeded generator (Mulberry32) and hash, so one seed drives everything random.
import { createRandom, hash32 } from '../data/random.ts';
import type { EngineOptions } from '../engine/session.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';
import { GraphTrainer } from './graph-trainer.ts';
import { BATCH_X, BATCH_Y, buildEvaluationGraph, buildInferenceGraph, buildTrainingGraph, dropoutMaskName, LOSS, SCORE } from './graphs.ts';
import type { GraphSpec } from './graphs.ts';
import type { Evaluation, ModelConfig, TrainableModel, TrainingState } from './trainable-model.ts';

/**
 * The dropout masks' seed stream (the weights use 101, the data pipeline 1-3). A mask depends
 * only on (seed, step, layer), so a resumed run draws the masks an uninterrupted one would.
 */
const DROPOUT_STREAM = 102;

export class OnnxTrainableModel implements TrainableModel {
  private constructor(
    readonly config: ModelConfig,
    private readonly spec: GraphSpec,
    private readonly trainer: GraphTrainer,
  ) {}

  static async create(config: ModelConfig, optimizer: OptimizerConfig, spec: GraphSpec, engine: EngineOptions): Promise<OnnxTrainableModel> {
    const trainer = await GraphTrainer.create({
      parameters: spec.network.parameters,
      optimizer,
      trainingGraph: buildTrainingGraph(spec, optimizer),
      evaluationGraph: buildEvaluationGraph(spec),
      seed: config.seed,
      engine,
    });
    return new OnnxTrainableModel(config, spec, trainer);
  }

  get step(): number {
    return this.trainer.step;
  }

  async trainStep(batch: Batch): Promise<number> {
    const feeds = batchFeeds(this.config, batch);
    this.spec.network.dropoutWidths.forEach((width, i) => {
      feeds[dropoutMaskName(i)] = new ort.Tensor('float32', this.dropoutMask(batch.size, width, i), [batch.size, width]);
    });
    return this.trainer.trainStep(feeds);
  }

  async evaluate(batch: Batch): Promise<Evaluation> {
    return evaluationOf(this.config.task, await this.trainer.evaluate(batchFeeds(this.config, batch)));
  }

  getState(): TrainingState {
    return this.trainer.getState();
  }

  setState(state: TrainingState): void {
    this.trainer.setState(state);
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
    return buildInferenceGraph(this.spec, this.trainer.parameterValues(), preprocessing);
  }

  release(): Promise<void> {
    return this.trainer.release();
  }

  /** Inverted dropout mask for hidden layer `layer` at the current step: 0 or 1 / (1 - p). */
  private dropoutMask(rows: number, width: number, layer: number): Float32Array {
    const p = this.config.dropout;
    const keep = 1 / (1 - p);
    const random = createRandom(hash32(this.config.seed, DROPOUT_STREAM, this.trainer.step, layer));
    const mask = new Float32Array(rows * width);
    for (let i = 0; i < mask.length; i++) mask[i] = random() < p ? 0 : keep;
    return mask;
  }
}

/** The evaluation graph's outputs as an Evaluation: mean loss, and correct rows or squared-error sum. */
export function evaluationOf(task: Task, results: ort.InferenceSession.ReturnType): Evaluation {
  const score = scalarOf(results[SCORE]);
  const classification = task !== 'regression';
  return { loss: scalarOf(results[LOSS]), correct: classification ? Math.round(score) : null, sumSquaredError: classification ? null : score };
}

/** A tabular batch as the graphs' x (B, F) and y inputs, its sizes checked against the model. */
export function batchFeeds(config: Pick<ModelConfig, 'inputSize' | 'outputSize' | 'task'>, batch: Batch): Record<string, ort.Tensor> {
  const { size, x, y } = batch;
  const f = config.inputSize;
  const t = config.task === 'regression' ? config.outputSize : 1;
  if (!Number.isInteger(size) || size < 1) throw new Error(`batch size must be a positive integer, got ${size}`);
  if (x.length !== size * f) throw new Error(`batch x has ${x.length} values; ${size} rows x ${f} features need ${size * f}`);
  if (y.length !== size * t) throw new Error(`batch y has ${y.length} values; ${size} rows x ${t} target(s) need ${size * t}`);
  return {
    [BATCH_X]: new ort.Tensor('float32', x, [size, f]),
    [BATCH_Y]: new ort.Tensor('float32', y, config.task === 'regression' ? [size, t] : [size]),
  };
}

function scalarOf(value: ort.OnnxValue | undefined): number {
  return (value as ort.Tensor).data[0] as number;
}
