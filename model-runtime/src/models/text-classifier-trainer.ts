/**
 * The text classifier under training: its graphs (text-classifier.ts) run by GraphTrainer, fed
 * padded token batches. What the training loop (train/fit.ts) steps, evaluates and checkpoints;
 * exportInference() writes model.onnx from the current weights.
 */
import * as ort from 'onnxruntime-node';
import type { TextBatch } from '../data/text-classification-data.ts';
import type { EngineOptions } from '../engine/session.ts';
import type { OptimizerConfig } from '../optim/optimizer-config.ts';
import { GraphTrainer } from './graph-trainer.ts';
import {
  ATTENTION_MASK,
  CORRECT,
  INPUT_IDS,
  LABELS,
  LOSS,
  buildTextClassifierEvaluationGraph,
  buildTextClassifierInferenceGraph,
  buildTextClassifierTrainingGraph,
  textClassifierParameters,
  type TextClassifierConfig,
} from './text-classifier.ts';
import type { Evaluation, TrainingState } from './trainable-model.ts';
import { validateOptimizerConfig } from './validate.ts';

export class TextClassifierTrainer {
  private constructor(
    readonly config: TextClassifierConfig,
    private readonly trainer: GraphTrainer,
  ) {}

  static async create(config: TextClassifierConfig, optimizer: OptimizerConfig, seed: number, engine: EngineOptions = {}): Promise<TextClassifierTrainer> {
    validateOptimizerConfig(optimizer);
    const trainer = await GraphTrainer.create({
      parameters: textClassifierParameters(config),
      optimizer,
      trainingGraph: buildTextClassifierTrainingGraph(config, optimizer),
      evaluationGraph: buildTextClassifierEvaluationGraph(config),
      seed,
      engine,
    });
    return new TextClassifierTrainer(config, trainer);
  }

  get step(): number {
    return this.trainer.step;
  }

  trainStep(batch: TextBatch): Promise<number> {
    return this.trainer.trainStep(feeds(batch));
  }

  async evaluate(batch: TextBatch): Promise<Evaluation> {
    const results = await this.trainer.evaluate(feeds(batch));
    const scalar = (name: string): number => (results[name] as ort.Tensor).data[0] as number;
    return { loss: scalar(LOSS), correct: Math.round(scalar(CORRECT)), sumSquaredError: null };
  }

  getState(): TrainingState {
    return this.trainer.getState();
  }

  setState(state: TrainingState): void {
    this.trainer.setState(state);
  }

  /** model.onnx with the current weights: input_ids, attention_mask (N, T) -> probabilities (N, K). */
  exportInference(): Uint8Array {
    return buildTextClassifierInferenceGraph(this.config, this.trainer.parameterValues());
  }

  release(): Promise<void> {
    return this.trainer.release();
  }
}

function feeds(batch: TextBatch): Record<string, ort.Tensor> {
  const dims = [batch.size, batch.length];
  return {
    [INPUT_IDS]: new ort.Tensor('int64', batch.inputIds, dims),
    [ATTENTION_MASK]: new ort.Tensor('int64', batch.attentionMask, dims),
    [LABELS]: new ort.Tensor('int64', batch.labels, [batch.size]),
  };
}
