/**
 * model.json: what a trained model is, beside model.onnx in the artifact folder.
 *
 * A tabular model's folder (SageMaker's /opt/ml/model, tarred into model.tar.gz) holds exactly:
 *   model.onnx     the inference graph. Input `features` float32 (N, F) in raw units: the
 *                  standardisation learned at training is inside the graph, so any ONNX stack
 *                  serves it unchanged. Output `output` float32: regression (N, T) in the
 *                  target's own units; classification (N, K) class probabilities, K =
 *                  labels.length (binary models too: [P(labels[0]), P(labels[1])]).
 *   model.json     this description.
 *   MANIFEST.json  the SHA-256 of each file, one digest over them, and when it was written (see digest.ts).
 *
 * A text model's folder holds model.onnx, model.json, MANIFEST.json and the files its
 * description names (tokenizer.json always; the language model's config.json and
 * generation_config.json, laid out as Hugging Face's ONNX exports are):
 *   text-classifier  model.onnx reads `input_ids` and `attention_mask`, int64 (N, T) with
 *                    T <= contextLength, and writes `probabilities` float32 (N, K), K = labels.length.
 *   language-model   see models/gpt*.ts (the decoder with past_key_values, as Optimum exports it).
 *
 * A CNN classifier's folder (image-classifier, audio-classifier) holds model.onnx, model.json and
 * MANIFEST.json; see CnnDescriptionBase below.
 */

export const MODEL_FORMAT = 'modelstack/1';

/** Models of numeric tables: CSV / JSON Lines rows of features and a label. */
export const TABULAR_ALGORITHMS = ['linear-regression', 'logistic-regression', 'mlp'] as const;
/** Transformers over text, with a tokenizer learned from the training text. */
export const TEXT_ALGORITHMS = ['text-classifier', 'language-model'] as const;
/** Convolutional classifiers of images and sounds, read from one folder per class. */
export const CNN_ALGORITHMS = ['image-classifier', 'audio-classifier'] as const;
/** Explicit ratings (rating,user,item) factored into user and item embeddings. */
export const RECOMMENDER_ALGORITHMS = ['matrix-factorization'] as const;
export const ALGORITHMS = [...TABULAR_ALGORITHMS, ...TEXT_ALGORITHMS, ...CNN_ALGORITHMS, ...RECOMMENDER_ALGORITHMS] as const;
export type TabularAlgorithm = (typeof TABULAR_ALGORITHMS)[number];
export type TextAlgorithm = (typeof TEXT_ALGORITHMS)[number];
export type CnnAlgorithm = (typeof CNN_ALGORITHMS)[number];
export type Algorithm = (typeof ALGORITHMS)[number];

/**
 * A model this runtime did not train, sealed as it is by `modelstack package model.onnx --task
 * tensors` and served on named tensors (serve/tensor-model.ts). Not a training algorithm.
 */
export const PACKAGED_ALGORITHM = 'onnx';
/** What model.json's `algorithm` may say: a training algorithm, or a packaged model. */
/**
 * A pretrained Hugging Face model, sealed from its Optimum ONNX export folder by `modelstack
 * package <folder> --task ...` and served through its own tokenizer.json with
 * @huggingface/tokenizers. Not a training algorithm either.
 */
export const PRETRAINED_ALGORITHM = 'huggingface';
export const PRETRAINED_TASKS = ['text-generation', 'text-classification', 'feature-extraction'] as const;
export type PretrainedTask = (typeof PRETRAINED_TASKS)[number];
export type ServedAlgorithm = Algorithm | typeof PACKAGED_ALGORITHM | typeof PRETRAINED_ALGORITHM;
export const SERVED_ALGORITHMS: readonly ServedAlgorithm[] = [...ALGORITHMS, PACKAGED_ALGORITHM, PRETRAINED_ALGORITHM];

export function isTextAlgorithm(algorithm: ServedAlgorithm): algorithm is TextAlgorithm {
  return (TEXT_ALGORITHMS as readonly string[]).includes(algorithm);
}

export function isCnnAlgorithm(algorithm: ServedAlgorithm): algorithm is CnnAlgorithm {
  return (CNN_ALGORITHMS as readonly string[]).includes(algorithm);
}

export const TASKS = ['regression', 'binary', 'multiclass'] as const;
export type Task = (typeof TASKS)[number];

/** The names of the graph's input and output, fixed for every model this runtime writes. */
export const INFERENCE_INPUT = 'features';
export const INFERENCE_OUTPUT = 'output';

/** The standardisation learned at training that model.onnx applies inside its graph. */
export interface InferencePreprocessing {
  readonly featureMean: readonly number[];
  readonly featureStd: readonly number[];
  /** Regression only: the target was standardised for training and is de-standardised in the graph. */
  readonly targetMean: readonly number[] | null;
  readonly targetStd: readonly number[] | null;
}

/** What every model.json says, whatever the model. */
interface DescriptionBase {
  readonly format: typeof MODEL_FORMAT;
  readonly algorithm: ServedAlgorithm;
  /** Every hyperparameter as resolved for the run (defaults filled in), as strings. */
  readonly hyperparameters: Readonly<Record<string, string>>;
  /** Final metrics of the run (names from contract/metrics.ts). */
  readonly metrics: Readonly<Record<string, number>>;
  readonly versions: { readonly modelstack: string; readonly onnxruntime: string; readonly node: string };
  // No creation time: it would make the digest differ between identical runs. It is MANIFEST.json's createdAt.
}

export interface TabularModelDescription extends DescriptionBase {
  readonly algorithm: TabularAlgorithm;
  readonly task: Task;
  /** Feature columns in input order; a request row must have exactly this many values. */
  readonly features: readonly string[];
  /** Target column names for regression (usually one); the label column for classification. */
  readonly targets: readonly string[];
  /** Class names for classification, index = class id; null for regression. */
  readonly labels: readonly string[] | null;
  /** What was learned from the training data and is already applied inside model.onnx. */
  readonly preprocessing: InferencePreprocessing;
}

export const TOKENIZER_FILE = 'tokenizer.json';

/** The tokenizer a text model was trained with, saved beside it as a Hugging Face tokenizer.json. */
export interface TokenizerDescription {
  /** File in the artifact folder (`tokenizer.json`). */
  readonly file: string;
  /** `huggingface`: a pretrained model's own tokenizer.json, whatever its model (BPE, WordPiece, ...), read by @huggingface/tokenizers. */
  readonly kind: 'bpe' | 'char' | 'huggingface';
  /** Ids run from 0 to vocabSize - 1. */
  readonly vocabSize: number;
}

/** What both text models say. */
interface TextDescriptionBase extends DescriptionBase {
  readonly algorithm: TextAlgorithm;
  /** Most tokens the model reads at once (its position embeddings); longer inputs are truncated or slid. */
  readonly contextLength: number;
  readonly tokenizer: TokenizerDescription;
}

/** The graph names of a text classifier's model.onnx. */
export const TEXT_INPUT_IDS = 'input_ids';
export const TEXT_ATTENTION_MASK = 'attention_mask';
export const TEXT_PROBABILITIES = 'probabilities';

export interface TextClassifierDescription extends TextDescriptionBase {
  readonly algorithm: 'text-classifier';
  readonly task: 'binary' | 'multiclass';
  /** Class names, index = class id (the column of `probabilities`). */
  readonly labels: readonly string[];
  /** The key of a request object's text (and of the training data's), e.g. "text". */
  readonly textColumn: string;
  /** The id padding positions hold (their attention_mask is 0, so any id would do; this is the tokenizer's pad token). */
  readonly padId: number;
}

export interface LanguageModelDescription extends TextDescriptionBase {
  readonly algorithm: 'language-model';
}

export type TextModelDescription = TextClassifierDescription | LanguageModelDescription;

/**
 * What both CNN classifiers say. Their model.onnx reads one raw batch (`pixels` or `audio`, below)
 * and writes `probabilities` float32 (N, K), K = labels.length; the normalisation or the log-mel
 * spectrogram is inside the graph.
 */
interface CnnDescriptionBase extends DescriptionBase {
  readonly algorithm: CnnAlgorithm;
  readonly task: 'binary' | 'multiclass';
  /** Class names (the training data's folder names, or its manifest's classes), index = class id. */
  readonly labels: readonly string[];
  /** How many classes an answer lists, most probable first. */
  readonly topK: number;
}

/** image-classifier: model.onnx reads `pixels` float32 (N, height, width, channels), values 0..255. */
export interface ImageClassifierDescription extends CnnDescriptionBase {
  readonly algorithm: 'image-classifier';
  readonly image: {
    readonly height: number;
    readonly width: number;
    /** 1 (grayscale) or 3 (RGB). */
    readonly channels: number;
    /** Per channel, of pixel / 255 over the training images; applied inside model.onnx. */
    readonly channelMean: readonly number[];
    readonly channelStd: readonly number[];
  };
}

/** audio-classifier: model.onnx reads `audio` float32 (N, clipSamples), mono, -1..1, at sampleRate. */
export interface AudioClassifierDescription extends CnnDescriptionBase {
  readonly algorithm: 'audio-classifier';
  readonly audio: {
    readonly sampleRate: number;
    /** Samples per clip: longer recordings are cut, shorter ones padded with silence. */
    readonly clipSamples: number;
    /** The log-mel spectrogram model.onnx computes. */
    readonly nFft: number;
    readonly hopLength: number;
    readonly nMels: number;
  };
}

export type CnnModelDescription = ImageClassifierDescription | AudioClassifierDescription;

/** model.json, whichever model it describes; `algorithm` tells which. */
/** One input or output of a packaged model, as the ONNX file declares it. */
export interface TensorSpec {
  readonly name: string;
  /** ONNX Runtime's element type name: float32, int64, bool, ... */
  readonly dtype: string;
  /** Fixed sizes, or the symbol the file names a dynamic axis with ('' when it names none). */
  readonly shape: readonly (number | string)[];
}

export interface PackagedModelDescription extends DescriptionBase {
  readonly algorithm: typeof PACKAGED_ALGORITHM;
  readonly task: 'tensors';
  /** The name the model answers as (KServe v2's model_name): the packaged file's base name unless given. */
  readonly name: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/**
 * A pretrained Hugging Face model (PRETRAINED_ALGORITHM). Its folder holds model.onnx (the
 * export's model.onnx, or decoder_model_merged.onnx for text-generation, renamed), config.json,
 * tokenizer.json and whichever of tokenizer_config.json, generation_config.json and
 * special_tokens_map.json the export had, all under MANIFEST.json like a trained model's:
 *   text-generation      input_ids, attention_mask [, position_ids] [, use_cache_branch],
 *                        past_key_values.{i}.key/.value -> logits, present.{i}.key/.value
 *   text-classification  input_ids, attention_mask [, token_type_ids] -> logits (N, K), K = labels.length
 *   feature-extraction   input_ids, attention_mask [, token_type_ids] -> last_hidden_state (N, T, hiddenSize)
 */
export interface PretrainedModelDescription extends DescriptionBase {
  readonly algorithm: typeof PRETRAINED_ALGORITHM;
  readonly task: PretrainedTask;
  /** config.json's model_type (gpt2, bert, ...), for messages and logs. */
  readonly modelType: string;
  /** Most tokens the model reads at once: its position embeddings (or tokenizer_config's model_max_length, if fewer). */
  readonly contextLength: number;
  readonly tokenizer: TokenizerDescription;
  /** The export's other files kept beside model.onnx (config.json always), in the manifest like every file. */
  readonly exportFiles: readonly string[];
  /** text-classification: config.json's id2label in id order; null otherwise. */
  readonly labels: readonly string[] | null;
  /** text-classification: sigmoid per label (multi_label_classification) or softmax over them; null otherwise. */
  readonly scores: 'softmax' | 'sigmoid' | null;
  /** feature-extraction: the width of last_hidden_state; null otherwise. */
  readonly hiddenSize: number | null;
}

/** The user and item ids beside a recommender's model.onnx, and what each user rated in training. */
export const INTERACTIONS_FILE = 'interactions.json';

export interface RecommenderDescription extends DescriptionBase {
  readonly algorithm: 'matrix-factorization';
  readonly task: 'regression';
  /** Users and items seen in training; their ids (and each user's rated items) are in INTERACTIONS_FILE. */
  readonly users: number;
  readonly items: number;
  readonly interactionsFile: string;
  /** μ: the mean training rating, the prediction for a user and an item both unknown. */
  readonly globalMean: number;
}

export type ModelDescription = TabularModelDescription | TextModelDescription | CnnModelDescription | PackagedModelDescription | PretrainedModelDescription | RecommenderDescription;

export function isTabularDescription(description: ModelDescription): description is TabularModelDescription {
  return (TABULAR_ALGORITHMS as readonly string[]).includes(description.algorithm);
}

export function isTextDescription(description: ModelDescription): description is TextModelDescription {
  return isTextAlgorithm(description.algorithm);
}

/** The files besides model.onnx and model.json that model.json names and serving reads. */
export function companionFiles(description: ModelDescription): { readonly file: string; readonly role: string }[] {
  if (isTextDescription(description)) return [{ file: description.tokenizer.file, role: 'the tokenizer' }];
  if (description.algorithm === 'matrix-factorization') return [{ file: description.interactionsFile, role: 'the user and item ids' }];
  if (description.algorithm === PRETRAINED_ALGORITHM) {
    return [{ file: description.tokenizer.file, role: 'the tokenizer' }, ...description.exportFiles.map((file) => ({ file, role: 'a file of the Hugging Face export' }))];
  }
  return [];
}

/** The tokenizer file a model needs beside model.onnx (text models), or null. */
export function tokenizerFile(description: ModelDescription): string | null {
  return 'tokenizer' in description ? description.tokenizer.file : null;
}

/** `mlp (binary)`, `text-classifier (multiclass)`, `language-model`: for log lines. */
export function modelSummary(description: ModelDescription): string {
  return 'task' in description ? `${description.algorithm} (${description.task})` : description.algorithm;
}

/** `mlp, binary`, `language-model`: the model line's form of the same. */
export function modelSummaryList(description: ModelDescription): string {
  return 'task' in description ? `${description.algorithm}, ${description.task}` : description.algorithm;
}
