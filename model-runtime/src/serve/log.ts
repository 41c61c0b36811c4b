/**
 * The server's log: one JSON line per event on stdout, so CloudWatch Logs Insights can query it
 * without a parser, e.g. `filter msg = "request" | stats pct(latencyMs, 99) by status`.
 */
import { isStdoutClosed } from '../closed-stdout.ts';
import { jsonNumber, jsonString } from './json-text.ts';

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
  /** Pieces of a streamed answer written (tokens, for a generation); logged once the stream has ended. */
  readonly chunks?: number;
  /** Why a request failed (for a stream: why it ended early, the status being already sent). */
  readonly error?: string;
}

/** What a route adds to its request's line; the server adds method, path, status and latency. */
export type RequestLogFields = Pick<RequestLogEntry, 'rows' | 'batchRows' | 'batchRequests' | 'chunks' | 'error'>;

export type RequestLogger = (entry: RequestLogEntry) => void;

/**
 * Request lines are gathered and written together, at most `REQUEST_LOG_FLUSH_MS` after the
 * first of them or as soon as `REQUEST_LOG_FLUSH_BYTES` are waiting: one write for many
 * requests instead of a system call each. Flushing once per event-loop turn still meant a
 * write per request at concurrency 1 (and, under Docker, a wake-up of the log relay each
 * time); lifecycle events, errors and process exit flush at once, so no line is lost or
 * reordered.
 */
const REQUEST_LOG_FLUSH_MS = 50;
const REQUEST_LOG_FLUSH_BYTES = 32 * 1024;
let pending = '';
let flushTimer: NodeJS.Timeout | undefined;

function flushRequestLines(): void {
  if (flushTimer !== undefined) {
    clearTimeout(flushTimer);
    flushTimer = undefined;
  }
  if (pending === '') return;
  process.stdout.write(pending);
  pending = '';
}

process.on('exit', flushRequestLines);

export const stdoutRequestLogger: RequestLogger = (entry) => {
  if (entry.status >= 500) {
    logEvent('error', 'request', entry);
    return;
  }
  pending += requestLine(entry);
  if (pending.length >= REQUEST_LOG_FLUSH_BYTES) flushRequestLines();
  else if (flushTimer === undefined) flushTimer = setTimeout(flushRequestLines, REQUEST_LOG_FLUSH_MS).unref();
};

function line(level: string, msg: string, fields: object): string {
  return `${JSON.stringify({ time: isoNow(), level, msg, pid: process.pid, ...fields })}\n`;
}

/**
 * `line('info', 'request', entry)`, character for character, written out field by field: the
 * object spread and JSON.stringify of the general form cost more than the rest of a small request's
 * own work. Strings are still JSON-escaped (the path is the client's); numbers print as JSON prints them.
 */
export function requestLine(entry: RequestLogEntry): string {
  let text = `{"time":"${isoNow()}","level":"info","msg":"request","pid":${process.pid},"method":${jsonString(entry.method)},"path":${jsonString(entry.path)},"status":${jsonNumber(entry.status)},"rows":${jsonNumber(entry.rows)}`;
  if (entry.batchRows !== undefined) text += `,"batchRows":${jsonNumber(entry.batchRows)}`;
  if (entry.batchRequests !== undefined) text += `,"batchRequests":${jsonNumber(entry.batchRequests)}`;
  if (entry.chunks !== undefined) text += `,"chunks":${jsonNumber(entry.chunks)}`;
  if (entry.error !== undefined) text += `,"error":${JSON.stringify(entry.error)}`; // not remembered: messages vary
  return `${text},"latencyMs":${jsonNumber(entry.latencyMs)}}\n`;
}

/** new Date().toISOString(), made once per millisecond rather than once per line. */
let isoMs = -1;
let iso = '';
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    iso = new Date(now).toISOString();
  }
  return iso;
}

/**
 * A lifecycle event (listening, model loaded, draining, ...). Errors go to stderr, and so does
 * every event once stdout's reader has gone (`| head`), so that why the server stopped is
 * still on record.
 */
export function logEvent(level: 'info' | 'warn' | 'error', msg: string, fields: object = {}): void {
  flushRequestLines(); // keep the order of lines
  (level === 'error' || isStdoutClosed() ? process.stderr : process.stdout).write(line(level, msg, fields));
}
