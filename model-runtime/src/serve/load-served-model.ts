/**
 * Loads a model folder as the ServedModel its model.json describes (served-model.ts), after
 * verifying the artifact once: MANIFEST.json, and the sealed digest when given. Each kind of
 * model is imported only when asked for, so a tabular endpoint never loads the text models.
 */
import { loadArtifact } from '../artifact/load.ts';
import type { ServedModel, ServedModelOptions } from './served-model.ts';

/** Verifies the artifact in `modelDir`, then loads it as the model its model.json describes. */
export async function loadServedModel(modelDir: string, options: ServedModelOptions = {}): Promise<ServedModel> {
  const artifact = await loadArtifact(modelDir, { expectedDigest: options.expectedDigest ?? null });
  const { description } = artifact;
  switch (description.algorithm) {
    case 'linear-regression':
    case 'logistic-regression':
    case 'mlp':
      return (await import('./tabular-model.ts')).TabularModel.fromArtifact({ ...artifact, description }, options);
    case 'text-classifier':
      return (await import('./text-classification-model.ts')).TextClassificationModel.fromArtifact({ ...artifact, description }, options);
    case 'image-classifier':
    case 'audio-classifier':
      return (await import('./cnn-classifier-model.ts')).CnnClassifierModel.fromArtifact({ ...artifact, description }, options);
    case 'language-model':
      return (await import('./text-generation-model.ts')).TextGenerationModel.fromArtifact({ ...artifact, description }, options);
    case 'matrix-factorization':
      return (await import('./recommender-model.ts')).RecommenderModel.fromArtifact({ ...artifact, description }, options);
    case 'onnx':
      return (await import('./tensor-model.ts')).TensorModel.fromArtifact({ ...artifact, description }, options);
    case 'huggingface':
      switch (description.task) {
        case 'text-generation':
          return (await import('./text-generation-model.ts')).TextGenerationModel.fromArtifact({ ...artifact, description }, options);
        case 'text-classification':
          return (await import('./pretrained-classification-model.ts')).PretrainedClassificationModel.fromArtifact({ ...artifact, description }, options);
        case 'feature-extraction':
          return (await import('./pretrained-embedding-model.ts')).PretrainedEmbeddingModel.fromArtifact({ ...artifact, description }, options);
      }
  }
}

/** The fields of the "model loaded" log line. */
export function loadedModelLogFields(model: ServedModel): Record<string, unknown> {
  const d = model.description;
  const shape =
    'features' in d ? { task: d.task, features: d.features }
    : 'inputs' in d ? { task: d.task, inputs: d.inputs.map((t) => t.name), outputs: d.outputs.map((t) => t.name) }
    : 'interactionsFile' in d ? { task: d.task, users: d.users, items: d.items }
    : 'image' in d || 'audio' in d ? { task: d.task, labels: d.labels }
    : 'labels' in d ? { task: d.task, labels: d.labels, contextLength: d.contextLength }
    : { contextLength: d.contextLength };
  return { algorithm: d.algorithm, ...shape, digest: model.manifest.digest };
}
