/**
 * The inference HTTP server: SageMaker's container contract on node:http, no framework.
 *
 *   GET  /ping                          200 once the model is loaded and verified, 503 before
 *   POST /invocations                   the served model's answer (served-model.ts: tabular rows in
 *                                       JSON, CSV or JSON Lines; texts to classify; prompts)
 *   POST /endpoints/<name>/invocations  the same, answered in the SageMaker runtime API's shape
 *   POST /endpoints/<name>/invocations-response-stream
 *                                       the same as the runtime API streams it (runtime-api-stream.ts)
 *   GET  /execution-parameters          batch transform's tuning hints
 *
 * The routes are a table (route-table.ts) of handlers that return their response; this file
 * writes every response and its log line in one place, send(), so the status sent and the
 * status logged are one value. A streamed answer (a generation with "stream": true) is written
 * piece by piece as the socket takes it, and logged once when it has ended; a client that goes
 * away stops it. The server listens before the model is loaded (SageMaker expects
 * sockets accepted within 250 ms and polls /ping until it passes).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { answerClientErrors } from './client-error.ts';
import { renderError } from './error-response.ts';
import { invoke, type ModelState } from './invocation.ts';
import { JSON_TYPE } from './media-types.ts';
import { DEFAULT_MAX_PAYLOAD_BYTES } from './read-body.ts';
import { DEFAULT_STREAM_STALL_SECONDS, STREAM_STALL_ENV } from './serve-config.ts';
import { stdoutRequestLogger, type RequestLogger } from './log.ts';
import type { RouteResponse, StreamedBody } from './route-response.ts';
import { RouteTable } from './route-table.ts';
import { DEFAULT_VARIANT_NAME, RUNTIME_API_INVOCATIONS_PATH, runtimeApiHeaders } from './runtime-api.ts';
import { asEventStream, RUNTIME_API_STREAM_PATH, SAGEMAKER_ACCEPT } from './runtime-api-stream.ts';
import type { ServedModel } from './served-model.ts';

export interface InferenceServerOptions {
  /** The model being loaded (served-model.ts's loadServedModel); /ping answers 503 until it resolves. */
  readonly model: Promise<ServedModel>;
  /**
   * Largest request body accepted, in bytes; larger ones get a 413.
   * @default 6 MB (SageMaker's real-time payload limit)
   */
  readonly maxPayloadBytes?: number;
  /**
   * How long one invocation may take before it is answered with a 504, in milliseconds.
   * @default 60_000 (SageMaker's invocation timeout)
   */
  readonly timeoutMs?: number;
  /**
   * Production variant name reported on the runtime API path.
   * @default 'AllTraffic'
   */
  readonly variantName?: string;
  /**
   * How long a streamed answer may wait for a client that stopped reading (the socket full, no
   * 'drain') before the generation is stopped and the connection closed, in milliseconds.
   * @default 30_000 (MODEL_RUNTIME_STREAM_STALL_SECONDS, serve-config.ts)
   */
  readonly streamStallMs?: number;
  /**
   * Where the per-request JSON log lines go.
   * @default one line per request on stdout
   */
  readonly log?: RequestLogger;
}

export class InferenceServer {
  readonly http: http.Server;
  private loaded: { model: ServedModel } | undefined;
  private loadError: Error | undefined;
  private draining = false;
  private readonly maxPayloadBytes: number;
  private readonly timeoutMs: number;
  private readonly streamStallMs: number;
  private readonly variantName: string;
  private readonly log: RequestLogger;
  private readonly routes: RouteTable;

  constructor(private readonly options: InferenceServerOptions) {
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.streamStallMs = options.streamStallMs ?? DEFAULT_STREAM_STALL_SECONDS * 1000;
    this.variantName = options.variantName ?? DEFAULT_VARIANT_NAME;
    this.log = options.log ?? stdoutRequestLogger;
    const modelState = (): ModelState => this.modelState();
    const limits = { maxPayloadBytes: this.maxPayloadBytes, timeoutMs: this.timeoutMs };
    this.routes = new RouteTable()
      .addRoute('GET', '/ping', () => this.ping())
      .addRoute('HEAD', '/ping', () => this.ping())
      .addRoute('POST', '/invocations', (request) => invoke(request, modelState, limits))
      .addRoute('POST', RUNTIME_API_INVOCATIONS_PATH, async (request) => {
        const response = await invoke(request, modelState, limits);
        return { ...response, headers: { ...response.headers, ...runtimeApiHeaders(this.variantName) } };
      }, 'runtime-api')
      .addRoute('POST', RUNTIME_API_STREAM_PATH, async (request) => {
        const accept = request.headers[SAGEMAKER_ACCEPT];
        const response = await invoke(request, modelState, limits, typeof accept === 'string' ? accept : undefined);
        return asEventStream(response, runtimeApiHeaders(this.variantName));
      }, 'runtime-api')
      .addRoute('GET', '/execution-parameters', () => json(200, {
        MaxConcurrentTransforms: 1,
        BatchStrategy: 'MULTI_RECORD',
        MaxPayloadInMB: Math.floor(this.maxPayloadBytes / 1024 / 1024),
      }));
    this.http = http.createServer((request, response) => void this.handle(request, response));
    // A slow client must not hold a connection open forever; allow the invocation timeout plus upload time.
    this.http.requestTimeout = this.timeoutMs + 30_000;
    answerClientErrors(this.http);
  }

  /** Set by listen(): resolves when the model is loaded and verified, rejects with why it could not be. */
  ready: Promise<void> = Promise.resolve();

  /** The loaded model, or undefined while it is loading. */
  get model(): ServedModel | undefined {
    return this.loaded?.model;
  }

  /**
   * Starts listening, then waits for the model in the background. Resolves with the bound
   * address as soon as sockets are accepted; `ready` tells when /ping passes.
   */
  async listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    this.ready = this.options.model.then(
      (model) => {
        this.loaded = { model };
      },
      (error: unknown) => {
        this.loadError = error instanceof Error ? error : new Error(String(error));
        throw this.loadError;
      },
    );
    this.ready.catch(() => undefined); // the caller decides what a failed load means (runServe exits)
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    return this.http.address() as AddressInfo;
  }

  /**
   * Stops accepting connections, lets in-flight requests finish, then closes. Connections still
   * open after `graceMs` are cut (SageMaker sends SIGKILL 30 s after SIGTERM).
   */
  async drain(graceMs = 25_000): Promise<void> {
    this.draining = true;
    // Keep-alive connections whose request is still in flight close right after their response.
    this.http.keepAliveTimeout = 1;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    const timer = setTimeout(() => this.http.closeAllConnections(), graceMs);
    await closed;
    clearTimeout(timer);
    // Stopped while loading (SIGTERM during a slow load): the load still opens a session, so wait
    // for it and release that too rather than leave it to the process's end (or leak it in-process).
    await this.ready.catch(() => undefined);
    await this.loaded?.model.close();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const method = request.method ?? 'GET';
    if (this.draining) response.setHeader('connection', 'close');
    const answer = await this.routes.dispatch(method, path, request);
    const sent = answer.stream === undefined ? send(request, response, answer) : await sendStream(request, response, answer, answer.stream, this.streamStallMs);
    this.log({ method, path, status: sent.status, ...sent.log, latencyMs: Math.round((performance.now() - started) * 1000) / 1000 });
  }

  private ping(): RouteResponse {
    if (this.draining) return json(503, { code: 503, status: 'draining', message: 'server is shutting down' });
    if (this.loaded !== undefined) return json(200, { code: 200, status: 'ready' });
    if (this.loadError !== undefined) return json(503, { code: 503, status: 'failed', message: this.loadError.message });
    return json(503, { code: 503, status: 'loading', message: 'model is loading' });
  }

  private modelState(): ModelState {
    if (this.loaded !== undefined) return this.loaded;
    return {
      model: undefined,
      unavailable: this.loadError === undefined ? 'model is still loading; retry when GET /ping answers 200' : `model failed to load: ${this.loadError.message}`,
    };
  }
}

/**
 * Writes a streamed answer: the status and headers, then each piece as it comes (chunked
 * transfer), waiting for the socket to drain when it is full so that a slow reader slows the
 * producer instead of filling memory. A client that disconnects ends the iteration, which stops
 * the producer (a generation takes no further decoder step); so does a client that stops reading:
 * while the socket stays full the producer is not pulled, so the invocation timeout never comes
 * and the generation would hold its decoder state for as long as the connection lasts; after
 * `stallMs` without a 'drain' the producer is stopped and the connection closed. A producer that
 * fails after the status was sent ends the stream with its failure piece. Returns what to log,
 * once, at the end.
 */
async function sendStream(request: IncomingMessage, response: ServerResponse, answer: RouteResponse, stream: StreamedBody, stallMs: number): Promise<RouteResponse> {
  if (request.readableFlowing === null) request.resume();
  let gone = false;
  let stalled = false;
  let wake: (() => void) | undefined;
  response.on('close', () => {
    gone = !response.writableFinished;
    wake?.();
  });
  response.on('error', () => undefined); // a reset socket: 'close' follows and ends the stream
  let chunks = 0;
  let error: string | undefined;
  try {
    response.writeHead(answer.status, answer.headers);
    response.flushHeaders();
    for await (const chunk of stream.chunks) {
      if (gone) break;
      chunks++;
      if (!response.write(chunk)) {
        stalled = !(await drained(response, stallMs, (resolve) => (wake = resolve)));
        wake = undefined;
      }
      if (gone || stalled) break;
    }
  } catch (failure) {
    error = failure instanceof Error ? failure.message : String(failure);
    if (!gone && !response.destroyed) response.write(stream.failure(failure));
  }
  if (stalled) {
    error = `client stopped reading: the connection took nothing for ${stallMs / 1000} s (${STREAM_STALL_ENV}) after ${chunks} streamed pieces; generation stopped, connection closed`;
    response.destroy();
  } else if (gone) {
    error = `client disconnected after ${chunks} streamed pieces`;
  }
  response.end();
  return { ...answer, log: { ...answer.log, chunks, ...(error === undefined ? {} : { error }) } };
}

/** Resolves true on 'drain' (or when `setWake`'s function is called: the connection closed), false after `stallMs` without either. */
function drained(response: ServerResponse, stallMs: number, setWake: (wake: () => void) => void): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const done = (value: boolean): void => {
      clearTimeout(timer);
      response.off('drain', onDrain);
      resolve(value);
    };
    const onDrain = (): void => done(true);
    const timer = setTimeout(() => done(false), stallMs);
    response.once('drain', onDrain);
    setWake(() => done(true));
  });
}

function json(status: number, body: unknown): RouteResponse {
  return { status, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(body), log: { rows: 0 } };
}

/**
 * Writes `answer` (headers and body in one write, thanks to the content-length; no body for
 * HEAD) and returns what was sent, for the log line. Only a response Node refuses to write (a
 * header value it rejects, say) is answered otherwise: with a 500, which is then what is logged.
 */
function send(request: IncomingMessage, response: ServerResponse, answer: RouteResponse): RouteResponse {
  // A body no handler read (a 404, a 405, a 415) is discarded, so the client can read the answer.
  if (request.readableFlowing === null) request.resume();
  try {
    response.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  } catch (error) {
    if (response.headersSent) {
      response.destroy();
      return answer;
    }
    const fallback = renderError(error, 'container');
    response.writeHead(fallback.status, { ...fallback.headers, 'content-length': Buffer.byteLength(fallback.body) });
    response.end(request.method === 'HEAD' ? undefined : fallback.body);
    return fallback;
  }
  response.end(request.method === 'HEAD' ? undefined : answer.body);
  return answer;
}
