/**
 * A text classifier's data: labelled documents from the channels (text-corpus.ts), the split
 * into training and validation (a validation channel, or a seeded hold-out of the training
 * documents), the classes, the tokenizer learned from the training text, every document encoded
 * (truncated to context_length), and seeded mini-batches padded to their longest document with
 * an attention mask.
 *
 * Everything random (the hold-out, the order of each epoch) is a function of the seed and a
 * position, as for tables (random.ts), so a resumed run sees the batches an uninterrupted one would.
 */
import type { ChannelConfig, InputDataConfig } from '../contract/input-data-config.ts';
import type { Hyperparameters } from '../contract/hyperparameters.ts';
import type { RuntimePaths } from '../contract/paths.ts';
import { learnTokenizer } from '../text/learn-tokenizer.ts';
import { END_OF_TEXT } from '../text/special-tokens.ts';
import type { Tokenizer } from '../text/tokenizer.ts';
import { TRAIN_CHANNEL, VALIDATION_CHANNEL, choosePartitioning } from './dataset.ts';
import { DataError } from './data-error.ts';
import { HOLDOUT_VALIDATION, partitionOf } from './partitioning.ts';
import { RANDOM_STREAM, createRandom, hash32, shuffleInPlace } from './random.ts';
import { MAX_CLASSES } from './task.ts';
import { readTextCorpus, type TextDocument } from './text-corpus.ts';

/** The padding token: positions holding it are masked out, so it never affects a prediction. */
export const PAD_TOKEN = '<|pad|>';

/** One mini-batch, row-major, T = the longest document in it (at most context_length). */
export interface TextBatch {
  readonly size: number;
  /** T */
  readonly length: number;
  /** (B, T) token ids, padding positions hold the pad id. */
  readonly inputIds: BigInt64Array;
  /** (B, T) 1 = token, 0 = padding. */
  readonly attentionMask: BigInt64Array;
  /** (B) class ids. */
  readonly labels: BigInt64Array;
}

/** Documents as token ids (already truncated) and class ids. */
export interface EncodedDocuments {
  readonly ids: readonly Int32Array[];
  readonly labels: Int32Array;
}

export interface TextClassificationData {
  readonly task: 'binary' | 'multiclass';
  /** Class names, index = class id: numbers in numeric order, anything else in code unit order. */
  readonly labels: readonly string[];
  readonly tokenizer: Tokenizer;
  readonly padId: number;
  readonly train: TextBatchSource;
  /** null: no validation (validation_fraction=0 and no validation channel). */
  readonly validation: TextBatchSource | null;
  readonly hasValidationChannel: boolean;
  /** What the checkpoint's fingerprint must cover: every document's text and label, in order, and where it went. */
  readonly identity: string;
}

export interface TextDataOptions {
  readonly log: (line: string) => void;
}

export async function prepareTextClassificationData(
  paths: RuntimePaths,
  hp: Hyperparameters,
  inputConfig: InputDataConfig,
  options: TextDataOptions,
): Promise<TextClassificationData> {
  const { log } = options;
  const labelColumn = hp.labelColumn ?? 'label';
  const read = (channel: string) =>
    readTextCorpus(paths.channel(channel), channel, {
      textColumn: hp.textColumn,
      labelColumn,
      contentType: hp.contentType ?? (inputConfig.get(channel) as ChannelConfig | undefined)?.contentType ?? null,
    });
  const documents = await read(TRAIN_CHANNEL);
  if (documents === null) throw new DataError(`no training data: the channel folder ${paths.channel(TRAIN_CHANNEL)} does not exist`);
  const validationDocuments = await read(VALIDATION_CHANNEL);

  const partitioning = choosePartitioning(hp, validationDocuments !== null);
  const heldOut = partitioning.kind === 'holdout' ? documents.filter((_, i) => partitionOf(partitioning, hp.seed, i) === HOLDOUT_VALIDATION) : [];
  const training = partitioning.kind === 'holdout' ? documents.filter((_, i) => partitionOf(partitioning, hp.seed, i) !== HOLDOUT_VALIDATION) : documents;
  if (partitioning.kind === 'holdout' && (training.length === 0 || heldOut.length === 0)) {
    throw new DataError(
      `the training data has ${documents.length} documents, too few to split off a validation_fraction of ${partitioning.fraction}: add documents, or set validation_fraction=0 (no validation)`,
    );
  }
  const validation = validationDocuments ?? (heldOut.length > 0 ? heldOut : null);

  const labels = classNames(training);
  const task = hp.task === null ? (labels.length === 2 ? 'binary' : 'multiclass') : hp.task;
  if (task === 'binary' && labels.length !== 2) {
    throw new DataError(`task=binary needs exactly 2 distinct labels, but the training data has ${labels.length} (${preview(labels)}); use task=multiclass`);
  }
  if (task === 'regression') throw new DataError('a text classifier predicts classes; task=regression is not one of its tasks');

  // Learned from the training documents only, so the validation text stays unseen.
  const tokenizer = learnTokenizer(
    training.map((d) => d.text),
    hp.tokenizer === 'char' ? { kind: 'char', specialTokens: [END_OF_TEXT, PAD_TOKEN] } : { kind: 'bpe', vocabSize: hp.vocabSize, specialTokens: [END_OF_TEXT, PAD_TOKEN] },
  );
  const padId = tokenizer.specialTokens.withContent(PAD_TOKEN)!.id;
  const classOf = new Map(labels.map((label, id) => [label, id]));
  const encode = (docs: readonly TextDocument[], what: string): { encoded: EncodedDocuments; truncated: number } => {
    let truncated = 0;
    const ids = docs.map((doc) => {
      let tokens: number[];
      try {
        tokens = tokenizer.encode(doc.text);
      } catch (error) {
        // A char tokenizer knows only the training text's characters; the validation text may hold others.
        throw new DataError(`${doc.where}: ${(error as Error).message}`);
      }
      if (tokens.length > hp.contextLength) truncated++;
      return Int32Array.from(tokens.slice(0, hp.contextLength));
    });
    const classIds = Int32Array.from(docs, (doc) => {
      const id = classOf.get(doc.label!);
      if (id === undefined) {
        throw new DataError(`${doc.where}: the ${what} label ${JSON.stringify(doc.label)} is not among the training labels (${preview(labels)}); a classifier can only predict classes it was trained on`);
      }
      return id;
    });
    return { encoded: { ids, labels: classIds }, truncated };
  };
  const trainSet = encode(training, 'training');
  const validationSet = validation === null ? null : encode(validation, 'validation');

  log(
    `data: ${documents.length} training documents; ${validationDocuments !== null ? `${validationDocuments.length} in the validation channel` : heldOut.length > 0 ? `${heldOut.length} held out for validation (validation_fraction ${partitioning.kind === 'holdout' ? partitioning.fraction : 0}, by seed)` : 'no validation'}`,
  );
  log(`data: task=${task}${hp.task === null ? ' inferred' : ' as set'}; classes: ${preview(labels)}`);
  log(`data: tokenizer=${tokenizer.kind} learned from the training text: ${tokenizer.vocabSize} tokens`);
  const truncated = trainSet.truncated + (validationSet?.truncated ?? 0);
  if (truncated > 0) log(`data: ${truncated} documents are longer than context_length=${hp.contextLength} tokens and were truncated`);

  const split = partitioning.kind === 'holdout' ? documents.map((_, i) => partitionOf(partitioning, hp.seed, i)).join('') : 'all';
  return {
    task,
    labels,
    tokenizer,
    padId,
    train: new TextBatchSource(trainSet.encoded, padId, hp.seed),
    validation: validationSet === null ? null : new TextBatchSource(validationSet.encoded, padId, hp.seed),
    hasValidationChannel: validationDocuments !== null,
    identity: JSON.stringify([documents.map((d) => [d.text, d.label]), validationDocuments?.map((d) => [d.text, d.label]) ?? null, split]),
  };
}

/** The distinct training labels in class-id order, refused when fewer than 2 or more than MAX_CLASSES. */
function classNames(documents: readonly TextDocument[]): string[] {
  const distinct = [...new Set(documents.map((d) => d.label!))];
  const numeric = distinct.every((label) => label.trim() !== '' && Number.isFinite(Number(label)));
  const labels = distinct.sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
  if (labels.length < 2) {
    throw new DataError(
      `a text classifier needs at least 2 classes, but every training label is ${JSON.stringify(labels[0])} (${documents.length} documents); add documents of another class, or check label_column`,
    );
  }
  if (labels.length > MAX_CLASSES) throw new DataError(`the training labels have ${labels.length} distinct values; a classifier supports at most ${MAX_CLASSES} classes`);
  return labels;
}

function preview(labels: readonly string[]): string {
  return labels.length <= 10 ? labels.join(', ') : `${labels.slice(0, 10).join(', ')}, ... (${labels.length})`;
}

/** Seeded epochs of padded batches over documents held in memory (FitSource<TextBatch>). */
export class TextBatchSource {
  readonly rows: number;

  constructor(
    private readonly documents: EncodedDocuments,
    private readonly padId: number,
    private readonly seed: number,
  ) {
    this.rows = documents.ids.length;
  }

  async *epoch(epochKey: number, batchSize: number, skip = 0): AsyncGenerator<TextBatch> {
    const order = Uint32Array.from(this.documents.ids.keys());
    shuffleInPlace(order, createRandom(hash32(this.seed, RANDOM_STREAM.epochOrder, epochKey)));
    yield* this.batchesOf(order, batchSize, skip);
  }

  async *inOrder(batchSize: number): AsyncGenerator<TextBatch> {
    yield* this.batchesOf(Uint32Array.from(this.documents.ids.keys()), batchSize, 0);
  }

  private *batchesOf(order: Uint32Array, batchSize: number, skip: number): Generator<TextBatch> {
    for (let start = skip * batchSize; start < order.length; start += batchSize) {
      const rows = Array.from(order.subarray(start, Math.min(order.length, start + batchSize)));
      yield padBatch(rows.map((i) => this.documents.ids[i]!), Int32Array.from(rows, (i) => this.documents.labels[i]!), this.padId);
    }
  }
}

/** Token id rows -> (B, T) ids and mask, T the longest row (at least 1, so an empty row still has a shape). */
export function padBatch(rows: readonly ArrayLike<number>[], labels: ArrayLike<number>, padId: number): TextBatch {
  const length = Math.max(1, ...rows.map((r) => r.length));
  const inputIds = new BigInt64Array(rows.length * length).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(rows.length * length);
  rows.forEach((row, b) => {
    for (let t = 0; t < row.length; t++) {
      inputIds[b * length + t] = BigInt(row[t]!);
      attentionMask[b * length + t] = 1n;
    }
  });
  return { size: rows.length, length, inputIds, attentionMask, labels: BigInt64Array.from(Array.from(labels), (l) => BigInt(l)) };
}
