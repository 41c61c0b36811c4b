/**
 * Training a CNN classifier (image-classifier, audio-classifier; each family's file says how its
 * files become examples and what its model.json says), reporting through the job's events:
 *
 *   1. list the train channel's labelled files (one folder per class, or a manifest) and decode them
 *   2. validation: the validation channel, else validation_fraction of each class, held out by seed
 *   3. fit the CNN (train/fit.ts: early stopping on validation loss, best parameters kept,
 *      checkpoints, a clean stop on SIGTERM), with the family's augmentation on training batches
 *   4. measure the kept parameters, the validation confusion matrix and per-class precision/recall
 *   5. write model.onnx, model.json and MANIFEST.json to model/
 */
import { sha256Hex } from '../artifact/digest.ts';
import { MODEL_ONNX_FILE } from '../artifact/files.ts';
import type { CnnAlgorithm, CnnModelDescription } from '../artifact/model-description.ts';
import { saveArtifact } from '../artifact/save.ts';
import { DEFAULT_VALIDATION_FRACTION, formatHyperparameters, type Hyperparameters } from '../contract/hyperparameters.ts';
import { listClassFiles } from '../data/class-folders.ts';
import { DataError } from '../data/data-error.ts';
import { decodeExamples } from '../data/decode-examples.ts';
import { ExampleBatchSource, stratifiedSplit, type Augment, type ExampleSet } from '../data/example-set.ts';
import type { CnnConfig } from '../models/cnn.ts';
import { ConvClassifier, type ConvClassifierSpec } from '../models/conv-classifier.ts';
import { CheckpointError, clearCheckpoint, readCheckpoint, writeCheckpoint, type EpochMetrics } from './checkpoint.ts';
import { classReport, classReportLines, type ClassReport } from './confusion.ts';
import { optimizerConfig, totalSteps } from './configs.ts';
import { evaluate, fit } from './fit.ts';
import type { TrainingResult } from './training-events.ts';
import { runtimeVersions, type TrainingJob } from './training-job.ts';

/** What differs between the CNN families. */
export interface CnnFamily {
  readonly algorithm: CnnAlgorithm;
  /** Extensions of the example files, lower case with the dot. */
  readonly extensions: readonly string[];
  /** The examples' name in messages ('images', 'WAV files'). */
  readonly what: string;
  /** Values per decoded example. */
  readonly exampleWidth: number;
  /** One file's bytes -> its example; throws with the reason it cannot. */
  readonly decode: (bytes: Uint8Array) => Promise<Float32Array> | Float32Array;
  /** Applied to training batches only; null = none. */
  readonly augment: Augment | null;
  /** The network, given the training examples (whose statistics a front end may need). */
  readonly spec: (train: ExampleSet, trainIndices: Uint32Array, classes: number) => ConvClassifierSpec;
  /** model.json's family fields beside the ones every CNN description has. */
  readonly describe: (
    base: Omit<CnnModelDescription, 'algorithm' | 'image' | 'audio'>,
    spec: ConvClassifierSpec,
  ) => CnnModelDescription;
}

/** Batches per evaluation run: a CNN's activations grow with it. */
const EVALUATION_BATCH = 128;

export async function runCnnTraining(job: TrainingJob, family: CnnFamily): Promise<TrainingResult> {
  const { paths, hp, emit } = job;
  const note = (text: string) => emit({ kind: 'note', text });

  const listed = await listClassFiles(paths.channel('train'), 'train', family.extensions, family.what);
  if (listed === null) throw new DataError(`the train channel (${paths.channel('train')}) does not exist; put one folder per class of ${family.what} in it`);
  const labels = listed.labels;
  if (labels.length < 2) throw new DataError(`channel train has one class (${labels[0]}); a classifier needs at least 2 classes, one folder each`);
  const all = await decodeExamples('train', listed.files, labels, family.exampleWidth, family.decode);

  // The validation channel, when there is one, is decoded into the same set after the training examples.
  const validationListed = await listClassFiles(paths.channel('validation'), 'validation', family.extensions, family.what);
  let set: ExampleSet = all;
  let trainIndices: Uint32Array;
  let validationIndices: Uint32Array;
  if (validationListed !== null) {
    const held = await decodeExamples('validation', validationListed.files, labels, family.exampleWidth, family.decode);
    set = concatSets(all, held);
    trainIndices = Uint32Array.from({ length: all.count }, (_, i) => i);
    validationIndices = Uint32Array.from({ length: held.count }, (_, i) => all.count + i);
  } else {
    ({ train: trainIndices, validation: validationIndices } = stratifiedSplit(all.classIds, hp.validationFraction ?? DEFAULT_VALIDATION_FRACTION, hp.seed));
  }
  const counts = labels.map((_, id) => all.classIds.reduce((n, c) => n + (c === id ? 1 : 0), 0));
  note(`data: ${all.count} ${family.what} in ${labels.length} classes (${labels.map((l, i) => `${l} ${counts[i]}`).join(', ')}); ${trainIndices.length} train, ${validationIndices.length} validation${validationListed !== null ? ' (validation channel)' : ''}`);

  const task = labels.length === 2 ? 'binary' : 'multiclass';
  const resolved = formatHyperparameters({ ...hp, task });
  const spec = family.spec(set, trainIndices, labels.length);
  const fingerprint = sha256Hex(
    concatBytes(new TextEncoder().encode(JSON.stringify({ resolved, labels, train: trainIndices.length, validation: validationIndices.length })), new Uint8Array(set.values.buffer, set.values.byteOffset, set.values.byteLength)),
  );
  const checkpoint = await readCheckpoint(paths.checkpoints);
  if (checkpoint && checkpoint.document.fingerprint !== fingerprint) {
    throw new CheckpointError(`the checkpoint in ${paths.checkpoints} was written by a run with other hyperparameters or data; remove it (or use a new checkpoint location) to start over`);
  }
  if (checkpoint) note(`checkpoint: resuming at epoch ${checkpoint.document.position.epoch + 1}, batch ${checkpoint.document.position.batch + 1}`);

  const train = new ExampleBatchSource(set, trainIndices, hp.seed, family.augment, EVALUATION_BATCH);
  const validation = validationIndices.length > 0 ? new ExampleBatchSource(set, validationIndices, hp.seed, null, EVALUATION_BATCH) : null;
  const model = await ConvClassifier.create(spec, optimizerConfig(hp, totalSteps(train.rows, hp.batchSize, hp.epochs)), hp.seed);
  let onnx: Uint8Array;
  let history: readonly EpochMetrics[];
  let metrics: EpochMetrics;
  let report: ClassReport | undefined;
  try {
    if (checkpoint) model.setState(checkpoint.state);
    const context = { phase: 'final', fold: null, epochs: hp.epochs } as const;
    const fitted = fit({
      model,
      task,
      train,
      validation,
      epochs: hp.epochs,
      batchSize: hp.batchSize,
      patience: hp.earlyStoppingPatience,
      epochKeyBase: 0,
      targetStd: 1,
      checkpointEverySteps: hp.checkpointEverySteps,
      resume: checkpoint ? { position: checkpoint.document.position, best: checkpoint.best } : null,
      signal: job.signal,
    });
    let done: { history: readonly EpochMetrics[]; bestEpoch: number; stoppedEarly: boolean } | null = null;
    for await (const event of fitted) {
      if (event.kind === 'batch' || event.kind === 'epoch') emit({ ...event, ...context });
      else if (event.kind === 'checkpoint') {
        await writeCheckpoint(paths.checkpoints, { fingerprint, phase: 'final', fold: null, folds: [], position: event.position, preprocessing: null }, model.getState(), event.best);
      } else done = event;
    }
    if (done === null) throw new Error('the fit ended without its done event');
    if (done.stoppedEarly) note(`stopped early after epoch ${done.history.length}; kept epoch ${done.bestEpoch}`);
    // Measured without augmentation, so train_accuracy is what the saved model scores.
    metrics = { epoch: done.bestEpoch, ...(await evaluate({ model, task, targetStd: 1 }, train, 'train')), ...(await evaluate({ model, task, targetStd: 1 }, validation)) };
    if (validation !== null) {
      report = await validationReport(model, validation, labels);
      for (const line of classReportLines(report)) note(`validation ${line}`);
    }
    emit({ kind: 'evaluation', of: 'final', metrics });
    history = done.history;
    onnx = model.exportInference();
  } finally {
    await model.release();
  }

  const description = family.describe(
    {
      format: 'modelstack/1',
      task,
      labels,
      topK: Math.min(hp.topK, labels.length),
      hyperparameters: resolved,
      metrics: metrics as Record<string, number>,
      versions: await runtimeVersions(),
    },
    spec,
  );
  const manifest = await saveArtifact(paths.model, { [MODEL_ONNX_FILE]: onnx }, description);
  await clearCheckpoint(paths.checkpoints);
  const result: TrainingResult = { modelDir: paths.model, description, manifest, history, ...(report === undefined ? {} : { validationReport: report }) };
  emit({ kind: 'done', result });
  return result;
}

async function validationReport(model: ConvClassifier, validation: ExampleBatchSource, labels: readonly string[]): Promise<ClassReport> {
  const predicted: number[] = [];
  for await (const batch of validation.inOrder(EVALUATION_BATCH)) predicted.push(...(await model.classify(batch)).predicted);
  return classReport(labels, validation.classIds(), predicted);
}

function concatSets(a: ExampleSet, b: ExampleSet): ExampleSet {
  const values = new Float32Array((a.count + b.count) * a.width);
  values.set(a.values);
  values.set(b.values, a.values.length);
  const classIds = new Int32Array(a.count + b.count);
  classIds.set(a.classIds);
  classIds.set(b.classIds, a.count);
  return { count: a.count + b.count, width: a.width, values, classIds };
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The CNN shape hyperparameters every family shares. */
export function cnnBody(hp: Hyperparameters, classes: number): Omit<CnnConfig, 'inputShape'> {
  const body = { widths: hp.convWidths, convsPerBlock: hp.convsPerBlock, kernelSize: 3, denseUnits: hp.denseUnits, classes };
  return hp.batchNorm ? { ...body, batchNorm: { momentum: hp.batchNormMomentum } } : body;
}
