/**
 * What a serving cluster's primary (cluster-primary.ts) and its workers (worker-entry.ts, which
 * runs serve-model.ts's serveInThisProcess) tell each other: the worker's job through its
 * environment, its progress through IPC messages. Both sides import this file and not each other.
 */

/** Environment variables a worker reads its job from. */
export const WORKER_MODEL_DIR_ENV = 'MODELSTACK_SERVE_MODEL_DIR';
export const WORKER_CONFIG_ENV = 'MODELSTACK_SERVE_CONFIG';
/**
 * Set ('1') for a worker that replaces one that died: it loads its model before it listens. The
 * primary hands connections round-robin to every worker that listens, so a replacement that
 * listened at once would answer its share with 503 "still loading" while the others could serve.
 */
export const WORKER_REPLACES_ENV = 'MODELSTACK_SERVE_REPLACEMENT';

/** Sent by a cluster worker to the primary once its model is loaded and it answers /ping with 200. */
export interface WorkerReadyMessage {
  readonly type: 'modelstack:worker-ready';
  readonly port: number;
}

/**
 * Sent by a cluster worker whose log line found stdout closed, as it starts draining: the other
 * workers share that stdout but may not write for a while, and would keep accepting meanwhile.
 */
export interface WorkerStdoutClosedMessage {
  readonly type: 'modelstack:stdout-closed';
}

export type WorkerMessage = WorkerReadyMessage | WorkerStdoutClosedMessage;

export interface ServeHooks {
  /** Called once the model is loaded and the server answers /ping 200 on `port` (every worker, under cluster). */
  readonly onReady?: (port: number) => void;
}
