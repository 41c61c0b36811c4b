/**
 * Reads model.json back into a ModelDescription, checking the fields serving relies on, so a
 * hand-edited or foreign model.json fails at load with the field named rather than at the
 * first request.
 */
import { MODEL_FORMAT, PACKAGED_ALGORITHM, PRETRAINED_ALGORITHM, PRETRAINED_TASKS, SERVED_ALGORITHMS, TASKS, isCnnAlgorithm, isTextAlgorithm, type ModelDescription, type ServedAlgorithm } from './model-description.ts';

export class ModelDescriptionError extends Error {
  constructor(message: string) {
    super(`model.json: ${message}`);
    this.name = 'ModelDescriptionError';
  }
}

export function parseModelDescription(json: string): ModelDescription {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ModelDescriptionError(`not valid JSON: ${(error as Error).message}`);
  }
  const d = expectRecord(value, 'the document');
  if (d.format !== MODEL_FORMAT) {
    throw new ModelDescriptionError(`format is ${JSON.stringify(d.format)}; expected "${MODEL_FORMAT}"`);
  }
  expectOneOf(d.algorithm, SERVED_ALGORITHMS, 'algorithm');
  expectRecord(d.hyperparameters, 'hyperparameters');
  expectRecord(d.metrics, 'metrics');
  expectRecord(d.versions, 'versions');
  if (d.algorithm === PACKAGED_ALGORITHM) checkPackagedModel(d);
  else if (d.algorithm === PRETRAINED_ALGORITHM) checkPretrainedModel(d);
  else if (d.algorithm === 'matrix-factorization') checkRecommender(d);
  else if (isTextAlgorithm(d.algorithm as ServedAlgorithm)) checkTextModel(d);
  else if (isCnnAlgorithm(d.algorithm as ServedAlgorithm)) checkCnnModel(d);
  else checkTabularModel(d);
  // A createdAt from before it moved to MANIFEST.json is ignored, so those artifacts still load.
  return value as ModelDescription;
}

function checkTabularModel(d: Record<string, unknown>): void {
  expectOneOf(d.task, TASKS, 'task');
  const features = expectStrings(d.features, 'features');
  if (features.length === 0) throw new ModelDescriptionError('features must name at least one column');
  expectStrings(d.targets, 'targets');
  if (d.task === 'regression') {
    if (d.labels !== null) throw new ModelDescriptionError('labels must be null for a regression model');
  } else {
    const labels = expectStrings(d.labels, 'labels');
    if (labels.length < 2) throw new ModelDescriptionError(`a ${String(d.task)} model needs at least 2 labels`);
  }
  const pre = expectRecord(d.preprocessing, 'preprocessing');
  for (const key of ['featureMean', 'featureStd'] as const) {
    const values = expectNumbers(pre[key], `preprocessing.${key}`);
    if (values.length !== features.length) {
      throw new ModelDescriptionError(
        `preprocessing.${key} has ${values.length} values; expected one per feature (${features.length})`,
      );
    }
  }
  for (const key of ['targetMean', 'targetStd'] as const) {
    if (pre[key] !== null) expectNumbers(pre[key], `preprocessing.${key}`);
  }
}

/** A text model: its context length and tokenizer file; a classifier also its labels, text column and pad id. */
function checkTextModel(d: Record<string, unknown>): void {
  expectPositiveInteger(d.contextLength, 'contextLength');
  const tokenizer = expectRecord(d.tokenizer, 'tokenizer');
  if (typeof tokenizer.file !== 'string' || tokenizer.file === '') throw new ModelDescriptionError('tokenizer.file must name the tokenizer file, e.g. "tokenizer.json"');
  expectOneOf(tokenizer.kind, ['bpe', 'char'], 'tokenizer.kind');
  expectPositiveInteger(tokenizer.vocabSize, 'tokenizer.vocabSize');
  if (d.algorithm !== 'text-classifier') return;
  expectOneOf(d.task, ['binary', 'multiclass'], 'task');
  const labels = expectStrings(d.labels, 'labels');
  if (labels.length < 2) throw new ModelDescriptionError(`a text classifier needs at least 2 labels, got ${labels.length}`);
  if (typeof d.textColumn !== 'string' || d.textColumn === '') throw new ModelDescriptionError('textColumn must name the text key, e.g. "text"');
  if (!Number.isInteger(d.padId) || (d.padId as number) < 0 || (d.padId as number) >= (tokenizer.vocabSize as number)) {
    throw new ModelDescriptionError(`padId is ${JSON.stringify(d.padId)}; expected a token id from 0 to tokenizer.vocabSize - 1`);
  }
}

/** A recommender: its user and item counts, its ids file and the global mean. */
function checkRecommender(d: Record<string, unknown>): void {
  expectOneOf(d.task, ['regression'], 'task');
  expectPositiveInteger(d.users, 'users');
  expectPositiveInteger(d.items, 'items');
  if (typeof d.interactionsFile !== 'string' || d.interactionsFile === '') throw new ModelDescriptionError('interactionsFile must name the ids file, e.g. "interactions.json"');
  if (typeof d.globalMean !== 'number' || !Number.isFinite(d.globalMean)) throw new ModelDescriptionError(`globalMean is ${JSON.stringify(d.globalMean)}; expected a finite number`);
}

/** A packaged model: the name it answers as, and the tensors its ONNX file declares. */
function checkPackagedModel(d: Record<string, unknown>): void {
  expectOneOf(d.task, ['tensors'], 'task');
  if (typeof d.name !== 'string' || d.name === '') throw new ModelDescriptionError('name must be a non-empty string (the model name answers carry)');
  for (const side of ['inputs', 'outputs'] as const) {
    const specs = d[side];
    if (!Array.isArray(specs) || specs.length === 0) throw new ModelDescriptionError(`${side} must list the model's ${side} (name, dtype, shape)`);
    specs.forEach((spec: unknown, i) => {
      const t = expectRecord(spec, `${side}[${i}]`);
      if (typeof t.name !== 'string' || typeof t.dtype !== 'string') throw new ModelDescriptionError(`${side}[${i}] needs a name and a dtype string`);
      if (!Array.isArray(t.shape) || !t.shape.every((x: unknown) => typeof x === 'string' || Number.isInteger(x))) {
        throw new ModelDescriptionError(`${side}[${i}].shape must list sizes (whole numbers) or axis names (strings)`);
      }
    });
  }
}

/** A pretrained Hugging Face model: its task, context, tokenizer, export files and what its task needs. */
function checkPretrainedModel(d: Record<string, unknown>): void {
  expectOneOf(d.task, PRETRAINED_TASKS, 'task');
  if (typeof d.modelType !== 'string') throw new ModelDescriptionError('modelType must be config.json\'s model_type, e.g. "gpt2"');
  expectPositiveInteger(d.contextLength, 'contextLength');
  const tokenizer = expectRecord(d.tokenizer, 'tokenizer');
  if (typeof tokenizer.file !== 'string' || tokenizer.file === '') throw new ModelDescriptionError('tokenizer.file must name the tokenizer file, e.g. "tokenizer.json"');
  expectOneOf(tokenizer.kind, ['huggingface'], 'tokenizer.kind');
  expectPositiveInteger(tokenizer.vocabSize, 'tokenizer.vocabSize');
  const files = expectStrings(d.exportFiles, 'exportFiles');
  if (!files.includes('config.json')) throw new ModelDescriptionError('exportFiles must include config.json');
  if (d.task === 'text-classification') {
    if (expectStrings(d.labels, 'labels').length < 1) throw new ModelDescriptionError('a text-classification model needs its labels (config.json\'s id2label)');
    expectOneOf(d.scores, ['softmax', 'sigmoid'], 'scores');
  } else if (d.labels !== null || d.scores !== null) {
    throw new ModelDescriptionError(`labels and scores must be null for ${String(d.task)}`);
  }
  if (d.task === 'feature-extraction') expectPositiveInteger(d.hiddenSize, 'hiddenSize');
  else if (d.hiddenSize !== null) throw new ModelDescriptionError(`hiddenSize must be null for ${String(d.task)}`);
}

/** A CNN classifier: its labels, top_k and the input its model.onnx reads. */
function checkCnnModel(d: Record<string, unknown>): void {
  expectOneOf(d.task, ['binary', 'multiclass'], 'task');
  const labels = expectStrings(d.labels, 'labels');
  if (labels.length < 2) throw new ModelDescriptionError(`a ${String(d.algorithm)} needs at least 2 labels, got ${labels.length}`);
  expectPositiveInteger(d.topK, 'topK');
  if (d.algorithm === 'image-classifier') {
    const image = expectRecord(d.image, 'image');
    for (const key of ['height', 'width', 'channels'] as const) expectPositiveInteger(image[key], `image.${key}`);
    for (const key of ['channelMean', 'channelStd'] as const) {
      if (expectNumbers(image[key], `image.${key}`).length !== image.channels) throw new ModelDescriptionError(`image.${key} must have one value per channel (${String(image.channels)})`);
    }
    return;
  }
  const audio = expectRecord(d.audio, 'audio');
  for (const key of ['sampleRate', 'clipSamples', 'nFft', 'hopLength', 'nMels'] as const) expectPositiveInteger(audio[key], `audio.${key}`);
}

function expectPositiveInteger(value: unknown, what: string): void {
  if (!Number.isInteger(value) || (value as number) < 1) throw new ModelDescriptionError(`${what} is ${JSON.stringify(value)}; expected a positive integer`);
}

function expectRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelDescriptionError(`${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function expectOneOf(value: unknown, allowed: readonly string[], what: string): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new ModelDescriptionError(`${what} is ${JSON.stringify(value)}; expected one of ${allowed.join(', ')}`);
  }
}

function expectStrings(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new ModelDescriptionError(`${what} must be an array of strings`);
  }
  return value as string[];
}

function expectNumbers(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'number' && Number.isFinite(item))) {
    throw new ModelDescriptionError(`${what} must be an array of finite numbers`);
  }
  return value as number[];
}
