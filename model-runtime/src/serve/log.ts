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

export const stdoutRequestLogger: RequestLogger = (entry) => {
  logEvent(entry.status >= 500 ? 'error' : 'info', 'request', entry);
};

/** A lifecycle event (listening, model loaded, draining, ...). Errors go to stderr. */
export function logEvent(level: 'info' | 'warn' | 'error', msg: string, fields: object = {}): void {
  const line = `${JSON.stringify({ time: new Date().toISOString(), level, msg, pid: process.pid, ...fields })}\n`;
  (level === 'error' ? process.stderr : process.stdout).write(line);
}
