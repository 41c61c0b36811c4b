/**
 * When whoever reads stdout goes away (`modelstack train data.csv | head -3`), the next write
 * fails with EPIPE. Node raises that as an unhandled 'error' event: a stack trace, exit 1, and
 * no `finally` runs, so temporary folders stay behind. Commands that print as they work watch
 * stdout instead: a closed stdout aborts `stdoutClosed()`, the command stops its work through
 * that signal, cleans up and ends with exit status 141, what a shell reports for a process
 * that SIGPIPE ended (Node ignores SIGPIPE itself).
 */

/** 128 + SIGPIPE (13): the status of `yes | head -1`'s `yes`. */
export const CLOSED_STDOUT_EXIT_CODE = 141;

/** The reason `stdoutClosed()` carries once stdout's reader is gone. */
export class StdoutClosedError extends Error {
  constructor() {
    super('stdout was closed by its reader');
    this.name = 'StdoutClosedError';
  }
}

let watched: AbortController | undefined;

/**
 * An AbortSignal that aborts when a write to stdout fails because its reader closed it. The
 * first call starts watching; from then on such a failure is no longer fatal, later writes are
 * dropped (each fails with EPIPE again, which the watcher absorbs), and the process exit status becomes 141 unless a command
 * sets its own. Other stdout errors (a full disk behind `> file`) keep Node's default handling.
 */
export function stdoutClosed(): AbortSignal {
  if (watched === undefined) {
    const controller = new AbortController();
    watched = controller;
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') {
        // Re-raised outside the emitter so it stays an uncaught error, as without this listener.
        process.nextTick(() => {
          throw error;
        });
        return;
      }
      process.exitCode = CLOSED_STDOUT_EXIT_CODE;
      controller.abort(new StdoutClosedError());
    });
  }
  return watched.signal;
}

/** Whether a watched stdout (see `stdoutClosed()`) has lost its reader; false while unwatched. */
export function isStdoutClosed(): boolean {
  return watched?.signal.aborted ?? false;
}
