/**
 * The server's log: one JSON line per event on stdout, so CloudWatch Logs Insights can query it
 * without a parser, e.g. `filter msg = "request" | stats pct(latencyMs, 99) by status`.
 */
export interface RequestLogEntry {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Rows predicted for this request (0 for /ping and errors before decoding). */
  readonly rows: number;
  readonly latencyMs: number;
  /** Rows in the ONNX Runtime run that served this request, with every request batched into it. */
  readonly batchRows?: number;
  /** Requests coalesced into that run. */
  readonly batchRequests?: number;
  /** Why a request failed. */
  readonly error?: string;
}

export type RequestLogger = (entry: RequestLogEntry) => void;

/**
 * Request lines are gathered and written once per event-loop turn: under load that is one
 * write for many requests instead of a system call each.
 */
let pending: string[] = [];

function flushRequestLines(): void {
  if (pending.length === 0) return;
  process.stdout.write(pending.join(''));
  pending = [];
}

export const stdoutRequestLogger: RequestLogger = (entry) => {
  if (entry.status >= 500) {
    logEvent('error', 'request', entry);
    return;
  }
  if (pending.length === 0) setImmediate(flushRequestLines);
  pending.push(line('info', 'request', entry));
};

function line(level: string, msg: string, fields: object): string {
  return `${JSON.stringify({ time: new Date().toISOString(), level, msg, pid: process.pid, ...fields })}\n`;
}

/** A lifecycle event (listening, model loaded, draining, ...). Errors go to stderr. */
export function logEvent(level: 'info' | 'warn' | 'error', msg: string, fields: object = {}): void {
  flushRequestLines(); // keep the order of lines
  (level === 'error' ? process.stderr : process.stdout).write(line(level, msg, fields));
}
