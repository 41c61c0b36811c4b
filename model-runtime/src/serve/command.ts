/**
 * `model-runtime serve`: serve the model SageMaker extracted to /opt/ml/model (paths.model) on
 * SAGEMAKER_BIND_TO_PORT, until SIGTERM. Rejects (so the process exits non-zero) when the model
 * cannot be loaded or its manifest does not verify; the reason has been logged.
 */
import type { RuntimePaths } from '../contract/paths.ts';
import { serveConfigFromEnv } from './serve-config.ts';
import { serveModel } from './serve-model.ts';

export async function runServe(paths: RuntimePaths): Promise<void> {
  await serveModel(paths.model, serveConfigFromEnv(process.env));
}
