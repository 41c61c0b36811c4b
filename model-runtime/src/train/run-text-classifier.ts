/**
 * Training a text classifier (algorithm=text-classifier), reporting through the job's events:
 *
 *   1. read the labelled documents, split off validation, learn the tokenizer from the training
 *      text, encode (data/text-classification-data.ts)
 *   2. fit the encoder (train/fit.ts: epochs, or max_steps; early stopping on the validation
 *      loss with the best weights kept; checkpoints every checkpoint_every_steps, at each epoch's
 *      end and on SIGTERM; an exact resume)
 *   3. write model.onnx (input_ids, attention_mask -> probabilities), tokenizer.json, model.json
 *      and MANIFEST.json to model/
 */
import { sha256Hex } from '../artifact/digest.ts';
import { MODEL_ONNX_FILE } from '../artifact/files.ts';
import { MODEL_FORMAT, TOKENIZER_FILE, type TextClassifierDescription } from '../artifact/model-description.ts';
import { saveArtifact } from '../artifact/save.ts';
import { formatHyperparameters } from '../contract/hyperparameters.ts';
import { prepareTextClassificationData, type TextClassificationData } from '../data/text-classification-data.ts';
import { TextClassifierTrainer } from '../models/text-classifier-trainer.ts';
import { serializeTokenizer } from '../text/tokenizer-json.ts';
import { CheckpointError, clearCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint, type EpochMetrics } from './checkpoint.ts';
import { optimizerConfig, totalSteps } from './configs.ts';
import { evaluate, fit } from './fit.ts';
import type { TrainingEvent, TrainingResult } from './training-events.ts';
import { runtimeVersions, type TrainingJob } from './training-job.ts';

export async function runTextClassifierTraining(job: TrainingJob): Promise<TrainingResult> {
  const { paths, hp, emit } = job;
  const note = (text: string) => emit({ kind: 'note', text });
  const data = await prepareTextClassificationData(paths, hp, job.inputConfig, { log: note });
  const resolved = formatHyperparameters({ ...hp, task: data.task });
  const fingerprint = sha256Hex(new TextEncoder().encode(JSON.stringify({ resolved, data: data.identity })));

  const checkpoint = await readCheckpoint(paths.checkpoints);
  if (checkpoint && checkpoint.document.fingerprint !== fingerprint) {
    throw new CheckpointError(
      `the checkpoint in ${paths.checkpoints} was written by a run with other hyperparameters or data; remove it (or use a new checkpoint location) to start over`,
    );
  }
  if (checkpoint) {
    const { epoch, batch } = checkpoint.document.position;
    note(`checkpoint: resuming at epoch ${epoch + 1}, batch ${batch + 1} (step ${checkpoint.state.step})`);
  }

  // The schedule's length: every epoch, or max_steps when that comes first.
  const epochSteps = totalSteps(data.train.rows, hp.batchSize, hp.epochs);
  const steps = hp.maxSteps > 0 ? Math.min(hp.maxSteps, epochSteps) : epochSteps;
  const model = await TextClassifierTrainer.create(
    {
      vocabSize: data.tokenizer.vocabSize,
      contextLength: hp.contextLength,
      nLayer: hp.nLayer,
      nHead: hp.nHead,
      nEmbd: hp.nEmbd,
      bias: hp.bias,
      dropout: hp.dropout,
      classes: data.labels.length,
    },
    optimizerConfig(hp, steps),
    hp.seed,
  );
  let fitted: FittedClassifier;
  try {
    if (checkpoint) model.setState(checkpoint.state);
    fitted = await fitClassifier(job, model, data, fingerprint, checkpoint);
  } finally {
    await model.release();
  }

  const description: TextClassifierDescription = {
    format: MODEL_FORMAT,
    algorithm: 'text-classifier',
    task: data.task,
    hyperparameters: resolved,
    contextLength: hp.contextLength,
    tokenizer: { file: TOKENIZER_FILE, kind: data.tokenizer.kind, vocabSize: data.tokenizer.vocabSize },
    labels: data.labels,
    textColumn: hp.textColumn,
    padId: data.padId,
    metrics: fitted.metrics as Record<string, number>,
    versions: await runtimeVersions(),
  };
  const manifest = await saveArtifact(
    paths.model,
    { [MODEL_ONNX_FILE]: fitted.onnx, [TOKENIZER_FILE]: new TextEncoder().encode(`${serializeTokenizer(data.tokenizer)}\n`) },
    description,
  );
  await clearCheckpoint(paths.checkpoints);
  const result: TrainingResult = { modelDir: paths.model, description, manifest, history: fitted.history };
  emit({ kind: 'done', result });
  return result;
}

/** What a finished fit leaves once its sessions are released. */
interface FittedClassifier {
  /** model.onnx with the kept weights (the best epoch's, with validation). */
  readonly onnx: Uint8Array;
  readonly history: readonly EpochMetrics[];
  /** The kept weights' train_* and validation_* metrics, under their epoch. */
  readonly metrics: EpochMetrics;
}

/** Runs the fit to its end, writing its checkpoints; returns model.onnx of the kept weights, the history and their metrics. */
async function fitClassifier(
  job: TrainingJob,
  model: TextClassifierTrainer,
  data: TextClassificationData,
  fingerprint: string,
  checkpoint: Checkpoint | null,
): Promise<FittedClassifier> {
  const { hp, paths } = job;
  const emit = (event: TrainingEvent) => job.emit(event);
  // The epochs the run will really have (max_steps may end it sooner), so a progress bar fills.
  const batchesPerEpoch = Math.ceil(data.train.rows / hp.batchSize);
  const epochs = hp.maxSteps > 0 ? Math.min(hp.epochs, Math.ceil(hp.maxSteps / batchesPerEpoch)) : hp.epochs;
  const context = { phase: 'final', fold: null, epochs } as const;
  // Evaluation runs hold no gradients, so a few training batches' worth of rows fit at once.
  const scored = { model, task: data.task, targetStd: 1, evaluationBatchSize: Math.min(256, 4 * hp.batchSize) };
  const events = fit({
    ...scored,
    train: data.train,
    validation: data.validation,
    epochs: hp.epochs,
    batchSize: hp.batchSize,
    patience: hp.earlyStoppingPatience,
    epochKeyBase: 0,
    checkpointEverySteps: hp.checkpointEverySteps,
    maxSteps: hp.maxSteps,
    resume: checkpoint ? { position: checkpoint.document.position, best: checkpoint.best } : null,
    signal: job.signal,
  });
  for await (const event of events) {
    switch (event.kind) {
      case 'batch':
      case 'epoch':
        emit({ ...event, ...context });
        break;
      case 'checkpoint':
        await writeCheckpoint(
          paths.checkpoints,
          { fingerprint, phase: 'final', fold: null, folds: [], position: event.position, preprocessing: null },
          model.getState(),
          event.best,
        );
        break;
      case 'done': {
        if (event.stoppedEarly) emit({ kind: 'note', text: `final: stopped early after epoch ${event.history.length}; kept epoch ${event.bestEpoch}` });
        // Measured without dropout, so train_loss here is what the saved model scores.
        const metrics: EpochMetrics = { epoch: event.bestEpoch, ...(await evaluate(scored, data.train, 'train')), ...(await evaluate(scored, data.validation)) };
        emit({ kind: 'evaluation', of: 'final', metrics });
        return { onnx: model.exportInference(), history: event.history, metrics };
      }
    }
  }
  throw new Error('the fit ended without its done event');
}
