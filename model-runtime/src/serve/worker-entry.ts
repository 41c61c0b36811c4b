/**
 * Entry point of a cluster worker (forked by cluster-primary.ts): serve the model in this
 * process with the primary's settings, exit 0 after draining (141 when stdout closed), 1 if the model fails.
 */
import { WORKER_CONFIG_ENV, WORKER_MODEL_DIR_ENV, WORKER_REPLACES_ENV } from './cluster-protocol.ts';
import { serveInThisProcess } from './serve-model.ts';
import type { ServeConfig } from './serve-config.ts';
import { exitCodeAfter } from './stop-reason.ts';

const modelDir = process.env[WORKER_MODEL_DIR_ENV];
const config = process.env[WORKER_CONFIG_ENV];
if (modelDir === undefined || config === undefined) {
  throw new Error(`worker-entry.ts is started by the serving cluster primary, which sets ${WORKER_MODEL_DIR_ENV} and ${WORKER_CONFIG_ENV}`);
}
try {
  // 141 after a closed stdout tells the primary this was a stop, not a death to replace.
  const listenAfterLoad = process.env[WORKER_REPLACES_ENV] === '1';
  process.exit(exitCodeAfter(await serveInThisProcess(modelDir, JSON.parse(config) as ServeConfig, {}, { listenAfterLoad })));
} catch {
  process.exit(1); // serveInThisProcess has logged why
}
