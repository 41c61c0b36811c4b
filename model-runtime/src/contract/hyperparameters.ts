/**
 * hyperparameters.json -> a typed, validated training configuration.
 *
 * SageMaker writes every value as a string. Each key below has a default that trains ordinary
 * tabular data without tuning; an unknown key or a value out of range is an error that names
 * the key, the value and what is allowed. Keys SageMaker adds itself (`sagemaker_*`, and
 * `_tuning_objective_metric` and friends from tuning jobs) are accepted and ignored.
 *
 * `HYPERPARAMETER_SPECS` is the single table of names, defaults and ranges: parsing, the
 * resolved values stored in model.json and the README's table all come from it.
 */
import {
  ALGORITHMS, CNN_ALGORITHMS, RECOMMENDER_ALGORITHMS, TABULAR_ALGORITHMS, TASKS, TEXT_ALGORITHMS, isCnnAlgorithm, isTextAlgorithm, type Algorithm, type Task,
} from '../artifact/model-description.ts';
import { parseDecimal } from '../numbers.ts';

export const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;
export const LR_SCHEDULES = ['constant', 'cosine'] as const;
export const ACTIVATIONS = ['relu', 'tanh', 'sigmoid'] as const;
export const TOKENIZERS = ['bpe', 'char'] as const;
export const BOOLEANS = ['true', 'false'] as const;
/** The formats tables are read in. */
export const CONTENT_TYPES = ['text/csv', 'application/jsonlines'] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];
/** The formats text is read in: tables with a text column, or plain text files (one document each). */
export type TextContentType = ContentType | 'text/plain';

/** Content types SageMaker users write, mapped to the two this runtime reads for tables. */
export const CONTENT_TYPE_ALIASES: Readonly<Record<string, ContentType>> = {
  'text/csv': 'text/csv',
  csv: 'text/csv',
  'application/jsonlines': 'application/jsonlines',
  'application/x-jsonlines': 'application/jsonlines',
  'application/jsonl': 'application/jsonlines',
  'application/json-lines': 'application/jsonlines',
  jsonl: 'application/jsonlines',
  jsonlines: 'application/jsonlines',
};

/** The same for text, plus plain text. */
export const TEXT_CONTENT_TYPE_ALIASES: Readonly<Record<string, TextContentType>> = {
  ...CONTENT_TYPE_ALIASES,
  'text/plain': 'text/plain',
  txt: 'text/plain',
  text: 'text/plain',
};

export interface Hyperparameters {
  /** Which model to fit. */
  readonly algorithm: Algorithm;
  /** null: inferred from the labels (see data/schema.ts). */
  readonly task: Task | null;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly optimizer: (typeof OPTIMIZERS)[number];
  readonly momentum: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  /** Global L2 norm the gradients are clipped to before each update; 0 = no clipping. */
  readonly gradClip: number;
  readonly lrSchedule: (typeof LR_SCHEDULES)[number];
  readonly warmupSteps: number;
  readonly hiddenSizes: readonly number[];
  readonly activation: (typeof ACTIVATIONS)[number];
  readonly dropout: number;
  /** Epochs without a better validation loss before stopping; 0 = never stop early. */
  readonly earlyStoppingPatience: number;
  /** 0 = no cross-validation; otherwise k >= 2. */
  readonly cvFolds: number;
  readonly seed: number;
  /** null: the first CSV column, or the `label` key of a JSON Lines object. */
  readonly labelColumn: string | null;
  /** null: from inputdataconfig.json's ContentType, else from the file extension. text/plain: text models only. */
  readonly contentType: TextContentType | null;
  /** 0 = checkpoint only at the end of each epoch and on SIGTERM. */
  readonly checkpointEverySteps: number;
  /** null: 0.1 when there is no validation channel, unused when there is one. */
  readonly validationFraction: number | null;

  // Text models (text-classifier, language-model): nanoGPT's GPTConfig and train.py settings.
  /** Transformer blocks. */
  readonly nLayer: number;
  /** Attention heads per block; n_embd must be a multiple of it. */
  readonly nHead: number;
  /** Width of the embeddings and of every block's residual stream. */
  readonly nEmbd: number;
  /** Most tokens the model reads at once (its position embeddings). */
  readonly contextLength: number;
  /** bpe: tokens the learned vocabulary holds at most, special tokens included. */
  readonly vocabSize: number;
  readonly tokenizer: (typeof TOKENIZERS)[number];
  /** Biases in the Linear layers and LayerNorms (nanoGPT's `bias`). */
  readonly bias: boolean;
  /** 0 = train for `epochs`; otherwise stop after this many optimizer steps (whichever comes first for the classifier). */
  readonly maxSteps: number;
  /** language-model: evaluate (and print metric lines) every this many steps; 0 = at the end of each epoch. */
  readonly evalInterval: number;
  /** language-model: validation batches per evaluation; 0 = the whole validation set. */
  readonly evalSteps: number;
  /** The JSON Lines key or CSV header of the text. */
  readonly textColumn: string;
  /** matrix-factorization: width of each user's and item's factor vector. */
  readonly embeddingDim: number;
  /** matrix-factorization: weight of the L2 penalty on the biases and factors a rating touches. */
  readonly regularization: number;

  // CNN classifiers (image-classifier, audio-classifier).
  /** Output channels of each conv block (its length is the depth). */
  readonly convWidths: readonly number[];
  readonly convsPerBlock: number;
  /** Units of the head's hidden layer; 0 = none. */
  readonly denseUnits: number;
  /** Batch normalisation after each convolution (which then has no bias). */
  readonly batchNorm: boolean;
  /** Weight of each batch's statistics in batch normalisation's running ones (torch's momentum). */
  readonly batchNormMomentum: number;
  /** Classes an answer lists. */
  readonly topK: number;
  /** image-classifier: (height, width) every image is resized to. */
  readonly imageSize: readonly [number, number];
  readonly imageChannels: 1 | 3;
  readonly augmentFlip: boolean;
  /** image-classifier: largest random shift, in pixels, of the crop augmentation; 0 = off. */
  readonly augmentCrop: number;
  /** audio-classifier: samples per second the clips are resampled to. */
  readonly sampleRate: number;
  readonly clipSeconds: number;
  readonly nFft: number;
  readonly hopLength: number;
  readonly nMels: number;
  /** audio-classifier: standard deviation of the Gaussian noise added to training clips (full scale = 1); 0 = off. */
  readonly augmentNoise: number;
  /** audio-classifier: largest random time shift of training clips, in seconds; 0 = off. */
  readonly augmentShift: number;
}

export class HyperparameterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HyperparameterError';
  }
}

/** How to read one key: parse a string (already trimmed, unquoted) or throw with the allowed range. */
interface Spec<K extends keyof Hyperparameters> {
  readonly field: K;
  /**
   * The algorithms the key configures. Given for another, it is refused naming these; model.json
   * lists only the keys of its algorithm.
   */
  readonly appliesTo: readonly Algorithm[];
  /** What the README says the default is. */
  readonly defaultText: string;
  /** What the README and errors say is allowed. */
  readonly allowed: string;
  readonly description: string;
  /** The default given the keys already parsed (some defaults depend on the algorithm or optimizer). */
  readonly fallback: (parsed: Partial<Hyperparameters>) => Hyperparameters[K];
  /** Returns undefined when the text is not allowed. */
  readonly parse: (text: string) => Hyperparameters[K] | undefined;
  /** How the value is written back into model.json. */
  readonly format?: (value: Hyperparameters[K]) => string;
}

type SpecTable = { readonly [name: string]: Spec<keyof Hyperparameters> };

function spec<K extends keyof Hyperparameters>(s: Spec<K>): Spec<keyof Hyperparameters> {
  return s as unknown as Spec<keyof Hyperparameters>;
}

const ALL: readonly Algorithm[] = ALGORITHMS;
const except = (...left: readonly Algorithm[]): readonly Algorithm[] => ALGORITHMS.filter((a) => !left.includes(a));

/** Order matters: a fallback may read only fields of keys listed before it. */
export const HYPERPARAMETER_SPECS: SpecTable = {
  algorithm: spec({
    field: 'algorithm',
    appliesTo: ALL,
    defaultText: 'mlp',
    allowed: ALGORITHMS.join(' | '),
    description: 'The model: a linear model for regression, a (softmax) logistic regression, or a multilayer perceptron for either (tables of numbers); a transformer text classifier, or a GPT-style language model (text); a CNN classifier of images or sounds (one folder per class); matrix factorization of explicit ratings (rating,user,item).',
    fallback: () => 'mlp',
    parse: oneOf(ALGORITHMS),
  }),
  task: spec({
    field: 'task',
    appliesTo: except('language-model', 'matrix-factorization'),
    defaultText: 'inferred from the labels',
    allowed: TASKS.join(' | '),
    description: 'What the label is. Unset: classification when a label is not a number, or when all labels are integers with at most 10 distinct values (binary when 2); otherwise regression. The choice is logged.',
    fallback: () => null,
    parse: oneOf(TASKS),
    format: (value) => value ?? '',
  }),
  epochs: spec({
    field: 'epochs',
    appliesTo: ALL,
    defaultText: '100 (tabular; 200 for an mlp classifier of <= 5000 rows, none for linear models solved by L-BFGS: see train/tabular-defaults.ts), 10 (text-classifier, image-classifier, audio-classifier), 1 (language-model), 20 (matrix-factorization)',
    allowed: 'integer 1 to 100000',
    description: 'Passes over the training data (fewer when early stopping or max_steps ends the run).',
    fallback: (p) => (p.algorithm === 'text-classifier' || (p.algorithm !== undefined && isCnnAlgorithm(p.algorithm)) ? 10 : p.algorithm === 'language-model' ? 1 : p.algorithm === 'matrix-factorization' ? 20 : 100),
    parse: integer(1, 100_000),
  }),
  batch_size: spec({
    field: 'batchSize',
    appliesTo: ALL,
    defaultText: '32 (min(200, rows) for an mlp classifier of <= 5000 rows); 12 (language-model); 256 (matrix-factorization)',
    allowed: 'integer 1 to 65536',
    description: 'Rows (language-model: sequences of context_length tokens) per optimizer step.',
    fallback: (p) => (p.algorithm === 'language-model' ? 12 : p.algorithm === 'matrix-factorization' ? 256 : 32),
    parse: integer(1, 65_536),
  }),
  learning_rate: spec({
    field: 'learningRate',
    appliesTo: ALL,
    defaultText: '0.01 (linear-regression, logistic-regression, matrix-factorization), 0.001 (the others)',
    allowed: 'number > 0 and <= 10',
    description: 'Peak step size of the optimizer.',
    fallback: (p) => (p.algorithm === 'linear-regression' || p.algorithm === 'logistic-regression' || p.algorithm === 'matrix-factorization' ? 1e-2 : 1e-3),
    parse: number({ min: 0, minExclusive: true, max: 10 }),
  }),
  optimizer: spec({
    field: 'optimizer',
    appliesTo: ALL,
    defaultText: 'adam; adamw (text-classifier, language-model)',
    allowed: OPTIMIZERS.join(' | '),
    description: 'SGD with momentum, Adam, or AdamW (decoupled weight decay).',
    fallback: (p) => (isText(p) ? 'adamw' : 'adam'),
    parse: oneOf(OPTIMIZERS),
  }),
  momentum: spec({
    field: 'momentum',
    appliesTo: ALL,
    defaultText: '0.9',
    allowed: 'number >= 0 and < 1',
    description: 'sgd only: momentum of the velocity.',
    fallback: () => 0.9,
    parse: number({ min: 0, max: 1, maxExclusive: true }),
  }),
  beta1: spec({
    field: 'beta1',
    appliesTo: ALL,
    defaultText: '0.9',
    allowed: 'number >= 0 and < 1',
    description: 'adam/adamw: decay of the first-moment estimate.',
    fallback: () => 0.9,
    parse: number({ min: 0, max: 1, maxExclusive: true }),
  }),
  beta2: spec({
    field: 'beta2',
    appliesTo: ALL,
    defaultText: '0.999',
    allowed: 'number >= 0 and < 1',
    description: 'adam/adamw: decay of the second-moment estimate.',
    fallback: () => 0.999,
    parse: number({ min: 0, max: 1, maxExclusive: true }),
  }),
  epsilon: spec({
    field: 'epsilon',
    appliesTo: ALL,
    defaultText: '1e-8',
    allowed: 'number > 0 and < 1',
    description: 'adam/adamw: added to the denominator for numerical stability.',
    fallback: () => 1e-8,
    parse: number({ min: 0, minExclusive: true, max: 1, maxExclusive: true }),
  }),
  weight_decay: spec({
    field: 'weightDecay',
    appliesTo: ALL,
    defaultText: '0.01 (adamw), 0 (sgd, adam); 0.1 (language-model with adamw, as nanoGPT)',
    allowed: 'number >= 0 and <= 1',
    description: 'adamw: decoupled weight decay; sgd/adam: L2 penalty added to the gradient.',
    fallback: (p) => (p.optimizer !== 'adamw' ? 0 : p.algorithm === 'language-model' ? 0.1 : 0.01),
    parse: number({ min: 0, max: 1 }),
  }),
  grad_clip: spec({
    field: 'gradClip',
    appliesTo: ALL,
    defaultText: '0 (off); 1 (text-classifier, language-model)',
    allowed: 'number >= 0 and <= 1000000',
    description: 'clips the gradients to this global L2 norm before each update (torch.nn.utils.clip_grad_norm_); 0 = no clipping.',
    fallback: (p) => (isText(p) ? 1 : 0),
    parse: number({ min: 0, max: 1e6 }),
  }),
  lr_schedule: spec({
    field: 'lrSchedule',
    appliesTo: ALL,
    defaultText: 'constant; cosine (text-classifier, language-model)',
    allowed: LR_SCHEDULES.join(' | '),
    description: 'constant, or cosine decay to 0 over all epochs x batches, or max_steps (after warm-up).',
    fallback: (p) => (isText(p) ? 'cosine' : 'constant'),
    parse: oneOf(LR_SCHEDULES),
  }),
  warmup_steps: spec({
    field: 'warmupSteps',
    appliesTo: ALL,
    defaultText: '0; 100 (language-model)',
    allowed: 'integer 0 to 1000000000',
    description: 'Optimizer steps of linear warm-up from 0 to learning_rate.',
    fallback: (p) => (p.algorithm === 'language-model' ? 100 : 0),
    parse: integer(0, 1e9),
  }),
  hidden_sizes: spec({
    field: 'hiddenSizes',
    appliesTo: ['mlp'],
    defaultText: '64,64 (100,100 for an mlp classifier of <= 5000 rows)',
    allowed: '1 to 16 comma-separated integers 1 to 65536',
    description: 'Width of each hidden layer.',
    fallback: () => [64, 64],
    parse: integerList(1, 16, 1, 65_536),
    format: (value) => value.join(','),
  }),
  activation: spec({
    field: 'activation',
    appliesTo: ['mlp'],
    defaultText: 'relu',
    allowed: ACTIVATIONS.join(' | '),
    description: 'Non-linearity after each hidden layer.',
    fallback: () => 'relu',
    parse: oneOf(ACTIVATIONS),
  }),
  dropout: spec({
    field: 'dropout',
    appliesTo: ['mlp', ...TEXT_ALGORITHMS],
    defaultText: '0',
    allowed: 'number >= 0 and < 1',
    description: 'Probability of zeroing an activation during training (the transformers: after attention, the MLP and the embeddings, as nanoGPT).',
    fallback: () => 0,
    parse: number({ min: 0, max: 1, maxExclusive: true }),
  }),
  early_stopping_patience: spec({
    field: 'earlyStoppingPatience',
    appliesTo: except('language-model'),
    defaultText: '10',
    allowed: 'integer 0 to 100000 (0 = off)',
    description: 'Stop after this many epochs without a lower validation loss; the model saved is the one of the best epoch. (An mlp classifier of <= 5000 rows, without this key, instead stops after 10 epochs without a 1e-4 lower training loss.)',
    fallback: () => 10,
    parse: integer(0, 100_000),
  }),
  cv_folds: spec({
    field: 'cvFolds',
    appliesTo: TABULAR_ALGORITHMS,
    defaultText: '0 (off)',
    allowed: '0, or integer 2 to 100',
    description: 'k-fold cross-validation: trains k models, prints the mean and standard deviation of their validation metrics (cv_* lines), then trains the final model on all data for the folds\' mean best epoch count.',
    fallback: () => 0,
    parse: (text) => {
      const k = integer(0, 100)(text);
      return k === 1 ? undefined : k;
    },
  }),
  seed: spec({
    field: 'seed',
    appliesTo: ALL,
    defaultText: '0',
    allowed: 'integer 0 to 4294967295',
    description: 'Seeds initial weights, dropout, shuffling, the validation split and the folds: the same seed and data give the same losses.',
    fallback: () => 0,
    parse: integer(0, 2 ** 32 - 1),
  }),
  label_column: spec({
    field: 'labelColumn',
    appliesTo: [...TABULAR_ALGORITHMS, 'text-classifier'],
    defaultText: 'first CSV column; JSON Lines key `label`; text-classifier: `label`',
    allowed: 'a CSV header name or JSON key; for CSV without a header, a 0-based column index',
    description: 'Which column holds the label; every other column is a feature (text-classifier: the text is text_column).',
    fallback: () => null,
    parse: (text) => (text === '' ? undefined : text),
    format: (value) => value ?? '',
  }),
  content_type: spec({
    field: 'contentType',
    appliesTo: except(...CNN_ALGORITHMS),
    defaultText: "the channel's ContentType in inputdataconfig.json, else the file extension",
    allowed: `${Object.keys(CONTENT_TYPE_ALIASES).join(' | ')}; text models also text/plain | txt | text`,
    description: 'Format of the data files.',
    fallback: () => null,
    parse: (text) => TEXT_CONTENT_TYPE_ALIASES[text.toLowerCase().split(';')[0]!.trim()],
    format: (value) => value ?? '',
  }),
  checkpoint_every_steps: spec({
    field: 'checkpointEverySteps',
    appliesTo: ALL,
    defaultText: '0 (each epoch end and on SIGTERM only)',
    allowed: 'integer 0 to 1000000000',
    description: 'Also write a checkpoint to checkpoints/ every this many optimizer steps.',
    fallback: () => 0,
    parse: integer(0, 1e9),
  }),
  validation_fraction: spec({
    field: 'validationFraction',
    appliesTo: ALL,
    defaultText: '0.1 without a validation channel',
    allowed: 'number >= 0 and <= 0.5 (0 = no validation)',
    description: 'Share of training rows held out (chosen by seed) for validation and early stopping when there is no validation channel; not combinable with a validation channel or cv_folds.',
    fallback: () => null,
    parse: number({ min: 0, max: 0.5 }),
    format: (value) => (value === null ? '' : String(value)),
  }),
  n_layer: spec({
    field: 'nLayer',
    appliesTo: TEXT_ALGORITHMS,
    defaultText: '2 (text-classifier), 4 (language-model)',
    allowed: 'integer 1 to 96',
    description: 'Transformer blocks (pre-norm multi-head self-attention and a GELU MLP of 4 x n_embd).',
    fallback: (p) => (p.algorithm === 'language-model' ? 4 : 2),
    parse: integer(1, 96),
  }),
  n_head: spec({
    field: 'nHead',
    appliesTo: TEXT_ALGORITHMS,
    defaultText: '4',
    allowed: 'integer 1 to 128, dividing n_embd',
    description: 'Attention heads per block.',
    fallback: () => 4,
    parse: integer(1, 128),
  }),
  n_embd: spec({
    field: 'nEmbd',
    appliesTo: TEXT_ALGORITHMS,
    defaultText: '128',
    allowed: 'integer 1 to 16384, a multiple of n_head',
    description: 'Width of the token and position embeddings and of each block.',
    fallback: () => 128,
    parse: integer(1, 16_384),
  }),
  context_length: spec({
    field: 'contextLength',
    appliesTo: TEXT_ALGORITHMS,
    defaultText: '128 (text-classifier), 64 (language-model)',
    allowed: 'integer 1 to 8192',
    description: 'Most tokens read at once. text-classifier: longer texts are truncated, shorter ones padded (masked); language-model: the block size.',
    fallback: (p) => (p.algorithm === 'language-model' ? 64 : 128),
    parse: integer(1, 8192),
  }),
  tokenizer: spec({
    field: 'tokenizer',
    appliesTo: TEXT_ALGORITHMS,
    defaultText: 'bpe',
    allowed: TOKENIZERS.join(' | '),
    description: 'Byte-level BPE learned from the training text to vocab_size tokens, or one token per character seen in it. Saved as tokenizer.json.',
    fallback: () => 'bpe',
    parse: oneOf(TOKENIZERS),
  }),
  vocab_size: spec({
    field: 'vocabSize',
    appliesTo: TEXT_ALGORITHMS,
    defaultText: '1024',
    allowed: 'integer 258 to 1048576 (the 256 bytes and special tokens at least)',
    description: 'With tokenizer=bpe: most tokens the learned vocabulary holds (fewer when the text has no more pairs seen twice).',
    fallback: () => 1024,
    parse: integer(258, 1 << 20),
  }),
  bias: spec({
    field: 'bias',
    appliesTo: TEXT_ALGORITHMS,
    defaultText: 'true',
    allowed: BOOLEANS.join(' | '),
    description: 'Biases in the Linear layers and LayerNorms (nanoGPT\'s bias; false is a little better and faster).',
    fallback: () => true,
    parse: boolean,
  }),
  max_steps: spec({
    field: 'maxSteps',
    appliesTo: TEXT_ALGORITHMS,
    defaultText: '0 (train for epochs); 2000 (language-model)',
    allowed: 'integer 0 to 1000000000',
    description: 'Stop after this many optimizer steps (text-classifier: or after epochs, whichever comes first).',
    fallback: (p) => (p.algorithm === 'language-model' ? 2000 : 0),
    parse: integer(0, 1e9),
  }),
  eval_interval: spec({
    field: 'evalInterval',
    appliesTo: ['language-model'],
    defaultText: '250',
    allowed: 'integer 1 to 1000000000',
    description: 'Evaluate on the validation text, and print metric lines, every this many steps (and at the last).',
    fallback: () => 250,
    parse: integer(1, 1e9),
  }),
  eval_steps: spec({
    field: 'evalSteps',
    appliesTo: ['language-model'],
    defaultText: '20',
    allowed: 'integer 1 to 1000000',
    description: 'Batches of validation text per evaluation.',
    fallback: () => 20,
    parse: integer(1, 1e6),
  }),
  text_column: spec({
    field: 'textColumn',
    appliesTo: TEXT_ALGORITHMS,
    defaultText: 'text',
    allowed: 'a JSON Lines key or CSV header name',
    description: 'Which JSON Lines key (or CSV column, named in the header) holds the text.',
    fallback: () => 'text',
    parse: (text) => (text === '' ? undefined : text),
  }),
  embedding_dim: spec({
    field: 'embeddingDim',
    appliesTo: RECOMMENDER_ALGORITHMS,
    defaultText: '32',
    allowed: 'integer 1 to 1024',
    description: 'Width of each user\'s and item\'s factor vector.',
    fallback: () => 32,
    parse: integer(1, 1024),
  }),
  regularization: spec({
    field: 'regularization',
    appliesTo: RECOMMENDER_ALGORITHMS,
    defaultText: '0.02',
    allowed: 'number >= 0 and <= 10',
    description: 'L2 penalty on the user and item biases and factors each rating touches.',
    fallback: () => 0.02,
    parse: number({ min: 0, max: 10 }),
  }),
  conv_widths: spec({
    field: 'convWidths',
    appliesTo: CNN_ALGORITHMS,
    defaultText: '32,64',
    allowed: '1 to 8 comma-separated integers 1 to 1024',
    description: 'Output channels of each conv block (3 x 3 convolutions with ReLU, then 2 x 2 max pooling); one entry per block.',
    fallback: () => [32, 64],
    parse: integerList(1, 8, 1, 1024),
    format: (value) => value.join(','),
  }),
  convs_per_block: spec({
    field: 'convsPerBlock',
    appliesTo: CNN_ALGORITHMS,
    defaultText: '1',
    allowed: 'integer 1 to 8',
    description: 'Convolutions in each block before its pooling.',
    fallback: () => 1,
    parse: integer(1, 8),
  }),
  dense_units: spec({
    field: 'denseUnits',
    appliesTo: CNN_ALGORITHMS,
    defaultText: '128',
    allowed: 'integer 0 to 65536 (0 = no hidden layer)',
    description: 'Units of the hidden layer (ReLU) between the conv blocks and the classes.',
    fallback: () => 128,
    parse: integer(0, 65_536),
  }),
  batch_norm: spec({
    field: 'batchNorm',
    appliesTo: CNN_ALGORITHMS,
    defaultText: 'false',
    allowed: BOOLEANS.join(' | '),
    description: 'Batch normalisation (torch\'s BatchNorm2d) between each convolution and its ReLU, the convolution then without bias: trained on each batch\'s statistics, evaluated and served with the running ones (saved in model.onnx and in checkpoints).',
    fallback: () => false,
    parse: boolean,
  }),
  batch_norm_momentum: spec({
    field: 'batchNormMomentum',
    appliesTo: CNN_ALGORITHMS,
    defaultText: '0.1',
    allowed: 'number > 0 and <= 1',
    description: 'With batch_norm=true: weight of each batch\'s mean and (unbiased) variance in the running statistics, as torch\'s momentum: running = (1 - m) running + m batch.',
    fallback: () => 0.1,
    parse: number({ min: 0, minExclusive: true, max: 1 }),
  }),
  top_k: spec({
    field: 'topK',
    appliesTo: CNN_ALGORITHMS,
    defaultText: '5 (at most the number of classes)',
    allowed: 'integer 1 to 1000',
    description: 'Classes each answer lists, most probable first, as {"label", "score"}.',
    fallback: () => 5,
    parse: integer(1, 1000),
  }),
  image_size: spec({
    field: 'imageSize',
    appliesTo: ['image-classifier'],
    defaultText: '32',
    allowed: 'integer 4 to 1024 (square), or height,width',
    description: 'Every image is resized to this many pixels (training and serving alike).',
    fallback: () => [32, 32],
    parse: (text) => {
      const values = integerList(1, 2, 4, 1024)(text);
      return values === undefined ? undefined : ([values[0]!, values[1] ?? values[0]!] as const);
    },
    format: (value) => (value[0] === value[1] ? String(value[0]) : value.join(',')),
  }),
  image_channels: spec({
    field: 'imageChannels',
    appliesTo: ['image-classifier'],
    defaultText: '3',
    allowed: '1 (grayscale) | 3 (RGB)',
    description: 'Colour channels the model reads. Training images are converted; a served image must have this many (alpha is dropped).',
    fallback: () => 3,
    parse: (text) => (text === '1' ? 1 : text === '3' ? 3 : undefined),
  }),
  augment_flip: spec({
    field: 'augmentFlip',
    appliesTo: ['image-classifier'],
    defaultText: 'false',
    allowed: BOOLEANS.join(' | '),
    description: 'Mirror each training image left-right with probability 1/2 (seeded per epoch and image).',
    fallback: () => false,
    parse: boolean,
  }),
  augment_crop: spec({
    field: 'augmentCrop',
    appliesTo: ['image-classifier'],
    defaultText: '0 (off)',
    allowed: 'integer 0 to 256',
    description: 'Random crops: shift each training image by up to this many pixels each way, edges repeated (seeded per epoch and image).',
    fallback: () => 0,
    parse: integer(0, 256),
  }),
  sample_rate: spec({
    field: 'sampleRate',
    appliesTo: ['audio-classifier'],
    defaultText: '16000',
    allowed: 'integer 1000 to 192000',
    description: 'WAV files and request bodies are mixed down to mono and resampled to this rate.',
    fallback: () => 16_000,
    parse: integer(1000, 192_000),
  }),
  clip_seconds: spec({
    field: 'clipSeconds',
    appliesTo: ['audio-classifier'],
    defaultText: '1',
    allowed: 'number > 0 and <= 60',
    description: 'Clip length: longer recordings are cut, shorter ones padded with silence.',
    fallback: () => 1,
    parse: number({ min: 0, minExclusive: true, max: 60 }),
  }),
  n_fft: spec({
    field: 'nFft',
    appliesTo: ['audio-classifier'],
    defaultText: '400 (25 ms at 16 kHz)',
    allowed: 'integer 16 to 8192',
    description: 'Samples per spectrogram frame (Hann window).',
    fallback: () => 400,
    parse: integer(16, 8192),
  }),
  hop_length: spec({
    field: 'hopLength',
    appliesTo: ['audio-classifier'],
    defaultText: '160 (10 ms at 16 kHz)',
    allowed: 'integer 1 to 8192',
    description: 'Samples between spectrogram frames.',
    fallback: () => 160,
    parse: integer(1, 8192),
  }),
  n_mels: spec({
    field: 'nMels',
    appliesTo: ['audio-classifier'],
    defaultText: '40',
    allowed: 'integer 4 to 256',
    description: 'Mel bands of the log-mel spectrogram.',
    fallback: () => 40,
    parse: integer(4, 256),
  }),
  augment_noise: spec({
    field: 'augmentNoise',
    appliesTo: ['audio-classifier'],
    defaultText: '0 (off)',
    allowed: 'number >= 0 and <= 1',
    description: 'Standard deviation of Gaussian noise added to each training clip (full scale = 1), seeded per epoch and clip.',
    fallback: () => 0,
    parse: number({ min: 0, max: 1 }),
  }),
  augment_shift: spec({
    field: 'augmentShift',
    appliesTo: ['audio-classifier'],
    defaultText: '0 (off)',
    allowed: 'number >= 0 and <= 60',
    description: 'Shift each training clip in time by up to this many seconds either way (silence fills in), seeded per epoch and clip.',
    fallback: () => 0,
    parse: number({ min: 0, max: 60 }),
  }),
};

function isText(p: Partial<Hyperparameters>): boolean {
  return p.algorithm !== undefined && isTextAlgorithm(p.algorithm);
}

/** The validation fraction used when neither a validation channel nor validation_fraction is given. */
export const DEFAULT_VALIDATION_FRACTION = 0.1;

/** Keys SageMaker itself puts into hyperparameters.json. */
function isPlatformKey(name: string): boolean {
  return name.startsWith('sagemaker_') || name.startsWith('_');
}

/**
 * The hyperparameter names a hyperparameters.json object sets (SageMaker's own keys left out):
 * what the tabular defaults (train/tabular-defaults.ts) must not override.
 */
export function givenHyperparameterNames(raw: unknown): Set<string> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return new Set();
  return new Set(Object.keys(raw).filter((name) => !isPlatformKey(name)));
}

/**
 * Parses hyperparameters.json's content (an object of strings). Numbers and booleans are accepted
 * too, for hand-written local files; a value wrapped in extra JSON quotes (`"\"adam\""`, as some
 * SDKs write) is unwrapped.
 */
export function parseHyperparameters(raw: unknown): Hyperparameters {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new HyperparameterError('hyperparameters.json must be a JSON object of "name": "value" strings');
  }
  const given = new Map<string, string>();
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (isPlatformKey(name)) continue;
    if (!(name in HYPERPARAMETER_SPECS)) {
      const suggestion = closestName(name);
      throw new HyperparameterError(
        `unknown hyperparameter "${name}"${suggestion ? `; did you mean "${suggestion}"?` : ''} Known: ${Object.keys(HYPERPARAMETER_SPECS).join(', ')}`,
      );
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new HyperparameterError(`hyperparameter ${name} must be a string, got ${JSON.stringify(value)}`);
    }
    given.set(name, unquote(String(value).trim()));
  }

  const parsed: Partial<Record<keyof Hyperparameters, unknown>> = {};
  for (const [name, s] of Object.entries(HYPERPARAMETER_SPECS)) {
    const text = given.get(name);
    if (text === undefined) {
      parsed[s.field] = s.fallback(parsed as Partial<Hyperparameters>);
      continue;
    }
    const value = s.parse(text);
    if (value === undefined) {
      throw new HyperparameterError(`hyperparameter ${name}=${JSON.stringify(text)} is not allowed; expected ${s.allowed}`);
    }
    parsed[s.field] = value;
  }
  const hp = parsed as unknown as Hyperparameters;
  checkCombinations(hp, given);
  return hp;
}

/** Rules between keys, checked once every key is parsed. */
function checkCombinations(hp: Hyperparameters, given: ReadonlyMap<string, string>): void {
  for (const name of given.keys()) {
    const owners = HYPERPARAMETER_SPECS[name]!.appliesTo;
    if (!owners.includes(hp.algorithm)) {
      throw new HyperparameterError(`hyperparameter ${name} does not apply to algorithm=${hp.algorithm}${WHAT_IT_READS[hp.algorithm] ?? ''}; it applies to ${only(describeAlgorithms(owners))}`);
    }
  }
  if (hp.algorithm === 'linear-regression' && hp.task !== null && hp.task !== 'regression') {
    throw new HyperparameterError(
      `algorithm=linear-regression fits task=regression only, but task=${hp.task}; use logistic-regression or mlp for classification`,
    );
  }
  if (hp.algorithm === 'logistic-regression' && hp.task === 'regression') {
    throw new HyperparameterError(
      'algorithm=logistic-regression fits task=binary or multiclass, but task=regression; use linear-regression or mlp',
    );
  }
  if (isCnnAlgorithm(hp.algorithm)) {
    checkCnnCombinations(hp, given);
    return;
  }
  if (isTextAlgorithm(hp.algorithm)) {
    checkTextCombinations(hp, given);
    return;
  }
  if (hp.contentType === 'text/plain') {
    throw new HyperparameterError(`content_type=${given.get('content_type')} (plain text) is read by the text models only; algorithm=${hp.algorithm} reads text/csv or application/jsonlines`);
  }
}

const only = (owners: string): string => (owners.startsWith('every') ? owners : `${owners} only`);

/** Why a family takes no keys of the others: what its training data is. */
const WHAT_IT_READS: Partial<Record<Algorithm, string>> = {
  'matrix-factorization': ' (its rows are rating,user,item)',
  'language-model': ' (it predicts the next token of the text)',
  'image-classifier': ', which reads one folder per class (or a manifest of "source-ref" and "class")',
  'audio-classifier': ', which reads one folder per class (or a manifest of "source-ref" and "class")',
};

/** "the tabular models (linear-regression, logistic-regression, mlp)", "algorithm=mlp", ... */
export function describeAlgorithms(algorithms: readonly Algorithm[]): string {
  const families: [string, readonly Algorithm[]][] = [
    ['every algorithm', ALGORITHMS],
    ['the tabular models', TABULAR_ALGORITHMS],
    ['the text models', TEXT_ALGORITHMS],
    ['the CNN classifiers', CNN_ALGORITHMS],
  ];
  const same = (a: readonly Algorithm[], b: readonly Algorithm[]): boolean => a.length === b.length && a.every((x) => b.includes(x));
  const family = families.find(([, members]) => same(members, algorithms));
  if (family !== undefined) return family[1] === ALGORITHMS ? family[0] : `${family[0]} (${algorithms.join(', ')})`;
  const left = ALGORITHMS.filter((a) => !algorithms.includes(a));
  if (left.length <= 2) return `every algorithm but ${left.join(' and ')}`;
  return `algorithm=${algorithms.join(', ')}`;
}

/** The CNN classifiers: the image and audio keys' own rules. */
function checkCnnCombinations(hp: Hyperparameters, given: ReadonlyMap<string, string>): void {
  if (hp.task === 'regression') throw new HyperparameterError(`algorithm=${hp.algorithm} fits task=binary or multiclass, but task=regression`);
  if (given.has('batch_norm_momentum') && !hp.batchNorm) {
    throw new HyperparameterError('hyperparameter batch_norm_momentum applies with batch_norm=true only; set batch_norm=true or leave the momentum out');
  }
  if (hp.algorithm === 'image-classifier') {
    if (hp.augmentCrop >= Math.min(...hp.imageSize)) {
      throw new HyperparameterError(`augment_crop=${hp.augmentCrop} must be smaller than image_size (${hp.imageSize.join('x')}); a few pixels (e.g. ${Math.max(1, Math.floor(Math.min(...hp.imageSize) / 8))}) is usual`);
    }
    return;
  }
  const samples = Math.round(hp.sampleRate * hp.clipSeconds);
  if (samples < hp.nFft) {
    throw new HyperparameterError(`clip_seconds=${hp.clipSeconds} at sample_rate=${hp.sampleRate} gives ${samples} samples, fewer than one spectrogram frame (n_fft=${hp.nFft}); lengthen the clip or lower n_fft`);
  }
  if (hp.augmentShift >= hp.clipSeconds) throw new HyperparameterError(`augment_shift=${hp.augmentShift} must be shorter than clip_seconds=${hp.clipSeconds}`);
}

function checkTextCombinations(hp: Hyperparameters, given: ReadonlyMap<string, string>): void {
  if (hp.nEmbd % hp.nHead !== 0) {
    throw new HyperparameterError(`n_embd=${hp.nEmbd} must be a multiple of n_head=${hp.nHead} (each head gets n_embd / n_head dimensions); e.g. n_embd=${Math.max(1, Math.round(hp.nEmbd / hp.nHead)) * hp.nHead}`);
  }
  if (given.has('vocab_size') && hp.tokenizer === 'char') {
    throw new HyperparameterError('hyperparameter vocab_size applies to tokenizer=bpe only; tokenizer=char takes one token per character of the training text');
  }
  if (hp.algorithm === 'text-classifier' && hp.task === 'regression') {
    throw new HyperparameterError('algorithm=text-classifier fits task=binary or multiclass, but task=regression');
  }
}

/** The hyperparameters of the run's algorithm as resolved, as strings, for model.json (the other families' keys left out). */
export function formatHyperparameters(hp: Hyperparameters): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, s] of Object.entries(HYPERPARAMETER_SPECS)) {
    if (!s.appliesTo.includes(hp.algorithm)) continue;
    const value = hp[s.field];
    out[name] = s.format ? s.format(value) : String(value);
  }
  return out;
}

/** The nearest known name within edit distance 2 (typos), or one the name is a prefix of. */
function closestName(name: string): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const known of Object.keys(HYPERPARAMETER_SPECS)) {
    const distance = editDistance(name.toLowerCase().replaceAll('-', '_'), known);
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  if (best !== null) return best;
  return Object.keys(HYPERPARAMETER_SPECS).find((known) => name.length >= 3 && known.startsWith(name)) ?? null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function unquote(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

function boolean(text: string): boolean | undefined {
  return text.toLowerCase() === 'true' ? true : text.toLowerCase() === 'false' ? false : undefined;
}

function oneOf<T extends string>(allowed: readonly T[]): (text: string) => T | undefined {
  return (text) => allowed.find((value) => value === text.toLowerCase());
}

function number(range: { min: number; max: number; minExclusive?: boolean; maxExclusive?: boolean }) {
  return (text: string): number | undefined => {
    const value = parseDecimal(text);
    if (value === undefined) return undefined;
    if (range.minExclusive ? value <= range.min : value < range.min) return undefined;
    if (range.maxExclusive ? value >= range.max : value > range.max) return undefined;
    return value;
  };
}

function integer(min: number, max: number) {
  return (text: string): number | undefined => {
    const value = number({ min, max })(text);
    return value !== undefined && Number.isInteger(value) ? value : undefined;
  };
}

function integerList(minLength: number, maxLength: number, min: number, max: number) {
  return (text: string): number[] | undefined => {
    const parts = text.split(',').map((part) => part.trim());
    if (parts.length < minLength || parts.length > maxLength) return undefined;
    const values = parts.map(integer(min, max));
    return values.every((value): value is number => value !== undefined) ? values : undefined;
  };
}
