/**
 * SAGEMAKER_MODEL_SERVER_WORKERS > 1: a node:cluster primary forks that many workers, each
 * loading the model and serving on the shared port (the primary hands connections round-robin).
 *
 * A worker that dies before its model loads (a failed verification, say) brings the whole
 * server down non-zero, as a single process would; one that dies later is replaced, by a worker
 * that listens only once its model is loaded (the others serve meanwhile). SIGTERM is
 * passed to every worker, and the primary resolves once all of them have drained and exited.
 *
 * Workers write to the primary's stdout. When its reader leaves (`| head -1`), the first process
 * to write a line finds out: a worker tells the primary as it starts draining (the others might
 * not write for a while, and would keep accepting), then exits 141 (CLOSED_STDOUT_EXIT_CODE),
 * which is a stop, not a death to replace; the primary stops the others and resolves 'stdout closed'.
 */
import cluster, { type Worker } from 'node:cluster';
import path from 'node:path';
import { CLOSED_STDOUT_EXIT_CODE } from '../closed-stdout.ts';
import { logEvent } from './log.ts';
import type { ServeConfig } from './serve-config.ts';
import { WORKER_CONFIG_ENV, WORKER_MODEL_DIR_ENV, WORKER_REPLACES_ENV, type ServeHooks, type WorkerMessage } from './cluster-protocol.ts';
import { stopRequested, type StopReason } from './stop-reason.ts';

export function servePrimary(modelDir: string, config: ServeConfig, hooks: ServeHooks): Promise<StopReason> {
  // Workers run worker-entry.ts; when this runtime runs from TypeScript, they need tsx's loader too.
  const runningTypeScript = import.meta.url.endsWith('.ts');
  cluster.setupPrimary({
    exec: path.join(import.meta.dirname, runningTypeScript ? 'worker-entry.ts' : 'worker-entry.js'),
    execArgv: runningTypeScript ? ['--import', import.meta.resolve('tsx')] : [],
  });
  const env = { [WORKER_MODEL_DIR_ENV]: modelDir, [WORKER_CONFIG_ENV]: JSON.stringify(config) };

  return new Promise<StopReason>((resolve, reject) => {
    const ready = new Set<number>();
    let stopping: StopReason | undefined;
    let failure: Error | undefined;

    const fork = (replacement: boolean): Worker => {
      const worker = cluster.fork(replacement ? { ...env, [WORKER_REPLACES_ENV]: '1' } : env);
      worker.on('message', (message: WorkerMessage) => {
        if (message?.type === 'modelstack:stdout-closed') stop('stdout closed');
        if (message?.type !== 'modelstack:worker-ready') return;
        ready.add(worker.id);
        if (ready.size === config.workers) {
          logEvent('info', 'all workers ready', { workers: config.workers, port: message.port });
          hooks.onReady?.(message.port);
        }
      });
      return worker;
    };

    const stop = (reason: StopReason): void => {
      if (stopping !== undefined) return;
      stopping = reason;
      logEvent('info', 'stopping workers', { signal: reason });
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    };
    void stopRequested().then(stop);

    cluster.on('exit', (worker, code, signal) => {
      const wasReady = ready.delete(worker.id);
      if (code === CLOSED_STDOUT_EXIT_CODE) {
        // The shared stdout is closed for every process: stop them all and exit as the worker did.
        stop('stdout closed');
        stopping = 'stdout closed'; // even when already stopping for a signal: stdout is gone either way
      } else if (!stopping && !wasReady) {
        failure = new Error(`serving worker ${worker.process.pid} exited (code ${code ?? signal}) before its model was ready; see its log above`);
        stop('SIGTERM');
      } else if (!stopping) {
        logEvent('warn', 'worker died; starting another', { pid: worker.process.pid, code, signal });
        fork(true);
      }
      if (stopping && Object.keys(cluster.workers ?? {}).length === 0) {
        if (failure === undefined) resolve(stopping);
        else reject(failure);
      }
    });

    for (let index = 0; index < config.workers; index++) fork(false);
  });
}
