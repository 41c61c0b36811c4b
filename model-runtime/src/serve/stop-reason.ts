/**
 * What stops a server: SIGTERM (SageMaker, `docker stop`), SIGINT (Ctrl-C), or stdout's reader
 * leaving (`modelstack serve model.tar.gz | head -1`). Each one drains the server the same way;
 * only the exit status differs.
 */
import { CLOSED_STDOUT_EXIT_CODE, stdoutClosed } from '../closed-stdout.ts';

/** Why the server stopped: a signal, or its log's reader leaving. */
export type StopReason = 'SIGTERM' | 'SIGINT' | 'stdout closed';

/** The exit status for a server that stopped for `reason` after draining. */
export function exitCodeAfter(reason: StopReason): number {
  return reason === 'stdout closed' ? CLOSED_STDOUT_EXIT_CODE : 0;
}

/**
 * Resolves with the first of SIGTERM, SIGINT and stdout closing. Watching stdout turns EPIPE
 * from an uncaught error (a crash that drops in-flight requests) into a reason to drain.
 */
export function stopRequested(): Promise<StopReason> {
  const closed = stdoutClosed();
  return new Promise<StopReason>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
    if (closed.aborted) resolve('stdout closed');
    else closed.addEventListener('abort', () => resolve('stdout closed'), { once: true });
  });
}
