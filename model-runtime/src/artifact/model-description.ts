/**
 * model.json: what a trained model is, beside model.onnx in the artifact folder.
 *
 * The artifact folder (SageMaker's /opt/ml/model, tarred into model.tar.gz) holds exactly:
 *   model.onnx     the inference graph. Input `features` float32 (N, F) in raw units: the
 *                  standardisation learned at training is inside the graph, so any ONNX stack
 *                  serves it unchanged. Output `output` float32: regression (N, T) in the
 *                  target's own units; classification (N, K) class probabilities, K =
 *                  labels.length (binary models too: [P(labels[0]), P(labels[1])]).
 *   model.json     this description.
 *   MANIFEST.json  the SHA-256 of each file, one digest over them, and when it was written (see digest.ts).
 */

export const MODEL_FORMAT = 'modelstack/1';

export const ALGORITHMS = ['linear-regression', 'logistic-regression', 'mlp'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

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

export interface ModelDescription {
  readonly format: typeof MODEL_FORMAT;
  readonly algorithm: Algorithm;
  readonly task: Task;
  /** Every hyperparameter as resolved for the run (defaults filled in), as strings. */
  readonly hyperparameters: Readonly<Record<string, string>>;
  /** Feature columns in input order; a request row must have exactly this many values. */
  readonly features: readonly string[];
  /** Target column names for regression (usually one); the label column for classification. */
  readonly targets: readonly string[];
  /** Class names for classification, index = class id; null for regression. */
  readonly labels: readonly string[] | null;
  /** What was learned from the training data and is already applied inside model.onnx. */
  readonly preprocessing: InferencePreprocessing;
  /** Final metrics of the run (names from contract/metrics.ts). */
  readonly metrics: Readonly<Record<string, number>>;
  readonly versions: { readonly modelstack: string; readonly onnxruntime: string; readonly node: string };
  // No creation time: it would make the digest differ between identical runs. It is MANIFEST.json's createdAt.
}
