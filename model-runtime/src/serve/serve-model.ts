/**
 * Serves one model folder until SIGTERM, SIGINT or a closed stdout: in this process when one
 * worker is asked for, otherwise as a node:cluster primary whose workers share the port
 * (cluster-primary.ts).
 *
 * Lifecycle (SageMaker's): listen at once, answer /ping 503 while the model loads and its
 * manifest is verified, 200 after (a cluster worker that replaces a dead one loads first and
 * listens after, so it never takes a share of connections it can only answer with 503); if verification fails, log why and reject (the caller exits
 * non-zero). On SIGTERM stop accepting, finish in-flight requests, close, resolve.
 *
 * A closed stdout (`modelstack serve model.tar.gz | head -1`: the reader has left, and the next
 * log line fails with EPIPE) stops the server the same way; the caller then exits 141, as a
 * process that SIGPIPE ended would.
 */
import cluster from 'node:cluster';
import { ArtifactIntegrityError } from '../artifact/digest.ts';
import { EXPECTED_DIGEST_ENV } from '../artifact/expected-digest.ts';
import { loadServedModel, loadedModelLogFields } from './load-served-model.ts';
import { logEvent } from './log.ts';
import { InferenceServer } from './server.ts';
import type { ServeConfig } from './serve-config.ts';
import { servePrimary } from './cluster-primary.ts';
import type { ServeHooks, WorkerReadyMessage, WorkerStdoutClosedMessage } from './cluster-protocol.ts';
import { stopRequested, type StopReason } from './stop-reason.ts';

/** Time allowed for in-flight requests after SIGTERM; SageMaker sends SIGKILL 30 s after it. */
const DRAIN_GRACE_MS = 25_000;

/** Serves until asked to stop, drains, and resolves with why it stopped. */
export async function serveModel(modelDir: string, config: ServeConfig, hooks: ServeHooks = {}): Promise<StopReason> {
  // Here, not in each worker, so the warning is one line however many workers serve.
  if (config.expectedDigest === null) {
    logEvent('warn', `${EXPECTED_DIGEST_ENV} is not set: the model is checked against its own MANIFEST.json only, so an archive replaced whole (new files, new manifest) would be served`, { modelDir });
  }
  if (config.workers > 1 && cluster.isPrimary) return servePrimary(modelDir, config, hooks);
  return serveInThisProcess(modelDir, config, hooks);
}

export interface InProcessOptions {
  /**
   * Load the model before listening (a cluster worker replacing one that died: the other
   * workers serve meanwhile). Otherwise listen at once and answer /ping 503 while loading, as
   * SageMaker expects of a container.
   * @default false
   */
  readonly listenAfterLoad?: boolean;
}

export async function serveInThisProcess(modelDir: string, config: ServeConfig, hooks: ServeHooks = {}, options: InProcessOptions = {}): Promise<StopReason> {
  const stopSignal = stopRequested();
  const loading = loadServedModel(modelDir, {
    threads: config.threadsPerWorker,
    expectedDigest: config.expectedDigest,
    batching: { maxBatchRows: config.maxBatchRows, windowMs: config.batchWindowMs },
  }).then((model) => {
    logEvent('info', 'model loaded', { ...loadedModelLogFields(model), threads: config.threadsPerWorker });
    return model;
  });
  // A failed load is logged below, the same way in either order.
  if (options.listenAfterLoad === true) await loading.catch(() => undefined);
  const server = new InferenceServer({
    model: loading,
    timeoutMs: config.timeoutMs,
    maxPayloadBytes: config.maxPayloadBytes,
    streamStallMs: config.streamStallMs,
  });
  const address = await server.listen(config.port, config.host);
  logEvent('info', 'listening', { host: address.address, port: address.port, modelDir });

  const loaded = await Promise.race([server.ready.then(() => 'loaded' as const), stopSignal]).catch(async (error: unknown) => {
    const reason = error instanceof Error ? error.message : String(error);
    logEvent('error', error instanceof ArtifactIntegrityError ? 'model failed verification' : 'model failed to load', { modelDir, reason });
    await server.drain(0);
    throw error;
  });
  if (loaded === 'loaded') {
    hooks.onReady?.(address.port);
    if (cluster.isWorker) process.send?.({ type: 'modelstack:worker-ready', port: address.port } satisfies WorkerReadyMessage);
  }
  const signal = loaded === 'loaded' ? await stopSignal : loaded;
  if (signal === 'stdout closed' && cluster.isWorker) process.send?.({ type: 'modelstack:stdout-closed' } satisfies WorkerStdoutClosedMessage);
  logEvent('info', 'draining', { signal });
  await server.drain(DRAIN_GRACE_MS);
  logEvent('info', 'stopped', {});
  return signal;
}
