/**
 * `algorithm=matrix-factorization`: explicit ratings (rating,user,item) to a served model of
 * predicted ratings and top-k items per user.
 *
 *   1. read the train channel (and the validation channel, or hold out validation_fraction of
 *      the ratings, seeded)
 *   2. index the users and items of the training ratings; validation ratings of users or items
 *      training never saw are left out of validation (and counted in a note)
 *   3. fit in the tabular loop (train/fit.ts): seeded batches, early stopping on validation
 *      loss, checkpoints and exact resume, metric lines with validation_rmse
 *   4. write model.onnx, interactions.json (the ids, and each user's rated items, training and
 *      validation, for exclude_seen), model.json and MANIFEST.json
 */
import { MODEL_ONNX_FILE } from '../artifact/files.ts';
import { sha256Hex } from '../artifact/digest.ts';
import { INTERACTIONS_FILE, MODEL_FORMAT, type RecommenderDescription } from '../artifact/model-description.ts';
import { saveArtifact } from '../artifact/save.ts';
import { DEFAULT_VALIDATION_FRACTION, formatHyperparameters, type Hyperparameters } from '../contract/hyperparameters.ts';
import { MemoryBatchSource, type MemoryRows } from '../data/batch-source.ts';
import { DataError } from '../data/data-error.ts';
import type { Preprocessing } from '../data/preprocessing.ts';
import { createRandom, hash32, shuffleInPlace } from '../data/random.ts';
import { IdVocabulary, readRatings, type RatingRows } from '../data/ratings.ts';
import { MF_ROW_WIDTH, MatrixFactorizationModel } from '../models/matrix-factorization-model.ts';
import { CheckpointError, clearCheckpoint, readCheckpoint, writeCheckpoint, type EpochMetrics } from './checkpoint.ts';
import { optimizerConfig, totalSteps } from './configs.ts';
import { evaluate, fit } from './fit.ts';
import type { TrainingResult } from './training-events.ts';
import { runtimeVersions, type TrainingJob } from './training-job.ts';

/** Keeps the holdout split's shuffle apart from the batches' (which use the epoch key). */
const SPLIT_STREAM = 211;

/** Rows are (user index, item index) and the label the raw rating: nothing to standardise. */
const IDENTITY: Preprocessing = { task: 'regression', labels: null, featureMean: [0, 0], featureStd: [1, 1], targetMean: null, targetStd: null };

export async function runMatrixFactorizationTraining(job: TrainingJob): Promise<TrainingResult> {
  const { paths, hp, emit } = job;
  const note = (text: string) => emit({ kind: 'note', text });
  const contentType = (channel: string): string | null => hp.contentType ?? job.inputConfig.get(channel)?.contentType ?? null;
  const all = await readRatings(paths.channel('train'), 'train', contentType('train'));
  if (all === null) throw new DataError(`no train channel: put CSV rows rating,user,item (or JSON Lines {"rating", "user", "item"}) in ${paths.channel('train')}`);
  const validationChannel = await readRatings(paths.channel('validation'), 'validation', contentType('validation'));
  const { train, validation } = split(all, validationChannel, hp);
  const users = IdVocabulary.of(train.users);
  const items = IdVocabulary.of(train.items);
  const globalMean = train.ratings.reduce((a, b) => a + b, 0) / train.ratings.length;

  const trainRows = indexRows(train, users, items);
  const validationRows = validation === null ? null : indexRows(validation, users, items);
  if (validationRows !== null && validationRows.unknown > 0) {
    note(`validation: ${validationRows.unknown} of ${validation!.ratings.length} ratings are of users or items not in training and are left out`);
  }
  note(`data: ${train.ratings.length} training ratings of ${users.size} users and ${items.size} items (mean ${globalMean.toFixed(3)}), ${validationRows?.rows.labels.length ?? 0} validation ratings${validationChannel === null ? ' held out' : ''}`);

  const resolved = formatHyperparameters(hp);
  const fingerprint = sha256Hex(new TextEncoder().encode(JSON.stringify({ resolved, users: users.size, items: items.size, ratings: train.ratings.length, globalMean })));
  const checkpoint = await readCheckpoint(paths.checkpoints);
  if (checkpoint && checkpoint.document.fingerprint !== fingerprint) {
    throw new CheckpointError(`the checkpoint in ${paths.checkpoints} was written by a run with other hyperparameters or data; remove it (or use a new checkpoint location) to start over`);
  }
  if (checkpoint) note(`checkpoint: resuming at epoch ${checkpoint.document.position.epoch + 1}, batch ${checkpoint.document.position.batch + 1}`);

  const source = (rows: MemoryRows): MemoryBatchSource => new MemoryBatchSource(rows, Uint32Array.from(rows.labels.keys()), IDENTITY, hp.seed);
  const trainSource = source(trainRows.rows);
  const validationSource = validationRows === null || validationRows.rows.labels.length === 0 ? null : source(validationRows.rows);
  const mf = { users: users.size, items: items.size, embeddingDim: hp.embeddingDim, regularization: hp.regularization, globalMean };
  const model = await MatrixFactorizationModel.create(mf, optimizerConfig(hp, totalSteps(trainSource.rows, hp.batchSize, hp.epochs)), hp.seed);
  let onnx: Uint8Array;
  let history: readonly EpochMetrics[];
  let kept: EpochMetrics;
  try {
    if (checkpoint) model.setState(checkpoint.state);
    const context = { phase: 'final' as const, fold: null, epochs: hp.epochs };
    const spec = { model, task: 'regression' as const, targetStd: 1 };
    const events = fit({
      ...spec,
      train: trainSource,
      validation: validationSource,
      epochs: hp.epochs,
      batchSize: hp.batchSize,
      patience: hp.earlyStoppingPatience,
      epochKeyBase: 0,
      checkpointEverySteps: hp.checkpointEverySteps,
      resume: checkpoint ? { position: checkpoint.document.position, best: checkpoint.best } : null,
      signal: job.signal,
    });
    let done: { history: readonly EpochMetrics[]; bestEpoch: number; stoppedEarly: boolean } | null = null;
    for await (const event of events) {
      if (event.kind === 'batch' || event.kind === 'epoch') emit({ ...event, ...context });
      else if (event.kind === 'checkpoint') {
        await writeCheckpoint(paths.checkpoints, { fingerprint, phase: 'final', fold: null, folds: [], position: event.position, preprocessing: IDENTITY }, model.getState(), event.best);
      } else done = event;
    }
    if (done === null) throw new Error('the fit ended without its done event');
    // Measured on the kept (best) parameters: what the saved model scores.
    kept = { epoch: done.bestEpoch, ...(await evaluate(spec, trainSource, 'train')), ...(await evaluate(spec, validationSource)) };
    if (done.stoppedEarly) note(`stopped early after epoch ${done.history.length}; kept epoch ${done.bestEpoch}`);
    history = done.history;
    onnx = model.exportInference();
  } finally {
    await model.release();
  }
  emit({ kind: 'evaluation', of: 'final', metrics: kept });

  const description: RecommenderDescription = {
    format: MODEL_FORMAT,
    algorithm: 'matrix-factorization',
    task: 'regression',
    hyperparameters: resolved,
    metrics: kept as Record<string, number>,
    versions: await runtimeVersions(),
    users: users.size,
    items: items.size,
    interactionsFile: INTERACTIONS_FILE,
    globalMean,
  };
  const interactions = new TextEncoder().encode(`${JSON.stringify({ users: users.ids, items: items.ids, rated: ratedItems([trainRows.rows, ...(validationRows === null ? [] : [validationRows.rows])], users.size) })}\n`);
  const manifest = await saveArtifact(paths.model, { [MODEL_ONNX_FILE]: onnx, [INTERACTIONS_FILE]: interactions }, description);
  await clearCheckpoint(paths.checkpoints);
  const result: TrainingResult = { modelDir: paths.model, description, manifest, history };
  emit({ kind: 'done', result });
  return result;
}

/** The validation channel when there is one, else a seeded holdout of validation_fraction of the ratings. */
function split(all: RatingRows, channel: RatingRows | null, hp: Hyperparameters): { train: RatingRows; validation: RatingRows | null } {
  if (channel !== null) return { train: all, validation: channel };
  const fraction = hp.validationFraction ?? DEFAULT_VALIDATION_FRACTION;
  const order = Uint32Array.from(all.ratings.keys());
  shuffleInPlace(order, createRandom(hash32(hp.seed, SPLIT_STREAM)));
  const held = Math.floor(order.length * fraction);
  if (order.length - held < 1) throw new DataError(`only ${order.length} ratings: none would be left for training after holding out validation_fraction=${fraction}`);
  const pick = (indices: Uint32Array): RatingRows => ({
    users: Array.from(indices, (i) => all.users[i]!),
    items: Array.from(indices, (i) => all.items[i]!),
    ratings: Float64Array.from(indices, (i) => all.ratings[i]!),
  });
  return { train: pick(order.subarray(held)), validation: held === 0 ? null : pick(order.subarray(0, held)) };
}

/** Rows of (user index, item index) and their ratings; ratings of ids not in the vocabularies are left out and counted. */
function indexRows(ratings: RatingRows, users: IdVocabulary, items: IdVocabulary): { rows: MemoryRows; unknown: number } {
  const features: number[] = [];
  const labels: number[] = [];
  let unknown = 0;
  ratings.ratings.forEach((rating, i) => {
    const u = users.find(ratings.users[i]!);
    const v = items.find(ratings.items[i]!);
    if (u < 0 || v < 0) {
      unknown++;
      return;
    }
    features.push(u, v);
    labels.push(rating);
  });
  return { rows: { features: Float64Array.from(features), labels: Float64Array.from(labels) }, unknown };
}

/** Each user's rated item indices (training and validation ratings), sorted: what exclude_seen leaves out of their top-k. */
function ratedItems(sets: readonly MemoryRows[], userCount: number): number[][] {
  const rated: Set<number>[] = Array.from({ length: userCount }, () => new Set());
  for (const rows of sets) {
    for (let r = 0; r < rows.labels.length; r++) rated[rows.features[r * MF_ROW_WIDTH]!]!.add(rows.features[r * MF_ROW_WIDTH + 1]!);
  }
  return rated.map((set) => [...set].sort((a, b) => a - b));
}
