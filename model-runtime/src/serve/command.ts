/**
 * `model-runtime serve`: serve the model SageMaker extracted to /opt/ml/model (paths.model) on
 * SAGEMAKER_BIND_TO_PORT, until SIGTERM, then resolve with the exit status: 0, or 141 when it
 * stopped because stdout's reader left (never in SageMaker, where stdout goes to CloudWatch).
 *
 * When the model cannot be loaded or its manifest does not verify, the reason has already been
 * logged as one JSON line naming the bad files; the process exits 1 right away, so SageMaker
 * sees the container fail instead of a /ping that never passes (and the log is not buried
 * under a stack trace).
 */
import type { RuntimePaths } from '../contract/paths.ts';
import { logEvent } from './log.ts';
import { serveConfigFromEnv } from './serve-config.ts';
import { serveModel } from './serve-model.ts';
import { exitCodeAfter } from './stop-reason.ts';

export async function runServe(paths: RuntimePaths): Promise<number> {
  let config;
  try {
    config = serveConfigFromEnv(process.env);
  } catch (error) {
    logEvent('error', 'invalid serving configuration', { reason: (error as Error).message });
    process.exit(1);
  }
  try {
    return exitCodeAfter(await serveModel(paths.model, config));
  } catch (error) {
    logEvent('error', 'serving failed', { reason: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
}
