/**
 * The inference HTTP server: SageMaker's container contract on node:http, no framework.
 *
 *   GET  /ping                          200 once the model is loaded and verified, 503 before
 *   POST /invocations                   predictions (JSON, CSV, JSON lines in and out)
 *   POST /endpoints/<name>/invocations  the same, answered in the SageMaker runtime API's shape
 *   GET  /execution-parameters          batch transform's tuning hints
 *
 * The server listens before the model is loaded (SageMaker expects sockets accepted within
 * 250 ms and polls /ping until it passes).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { decodeRequest } from './decode.ts';
import { DynamicBatcher, type DynamicBatcherOptions } from './dynamic-batcher.ts';
import { encodeResponse } from './encode.ts';
import { HttpError, errorBody } from './http-error.ts';
import type { InferenceModel } from './inference-model.ts';
import { requestMediaType, responseMediaType } from './media-types.ts';
import { DEFAULT_MAX_PAYLOAD_BYTES, readBody } from './read-body.ts';
import { stdoutRequestLogger, type RequestLogEntry, type RequestLogger } from './log.ts';
import { DEFAULT_VARIANT_NAME, INVOCATIONS_PATH, runtimeApiError, runtimeApiHeaders } from './runtime-api.ts';

const CUSTOM_ATTRIBUTES = 'x-amzn-sagemaker-custom-attributes';

export interface InferenceServerOptions {
  /** The model being loaded; /ping answers 503 until it resolves. */
  readonly model: Promise<InferenceModel>;
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
  readonly batching?: DynamicBatcherOptions;
  /**
   * Production variant name reported on the runtime API path.
   * @default 'AllTraffic'
   */
  readonly variantName?: string;
  /**
   * Where the per-request JSON log lines go.
   * @default one line per request on stdout
   */
  readonly log?: RequestLogger;
}

/** What one invocation produced, for the response and the log line. */
interface Invocation {
  readonly body: string;
  readonly contentType: string;
  readonly rows: number;
  readonly batchRows: number;
  readonly batchRequests: number;
}

export class InferenceServer {
  readonly http: http.Server;
  private loaded: { model: InferenceModel; batcher: DynamicBatcher } | undefined;
  private loadError: Error | undefined;
  private draining = false;
  private readonly maxPayloadBytes: number;
  private readonly timeoutMs: number;
  private readonly variantName: string;
  private readonly log: RequestLogger;

  constructor(private readonly options: InferenceServerOptions) {
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.variantName = options.variantName ?? DEFAULT_VARIANT_NAME;
    this.log = options.log ?? stdoutRequestLogger;
    this.http = http.createServer((request, response) => void this.handle(request, response));
    // A slow client must not hold a connection open forever; allow the invocation timeout plus upload time.
    this.http.requestTimeout = this.timeoutMs + 30_000;
  }

  /** Set by listen(): resolves when the model is loaded and verified, rejects with why it could not be. */
  ready: Promise<void> = Promise.resolve();

  /** The loaded model, or undefined while it is loading. */
  get model(): InferenceModel | undefined {
    return this.loaded?.model;
  }

  /**
   * Starts listening, then waits for the model in the background. Resolves with the bound
   * address as soon as sockets are accepted; `ready` tells when /ping passes.
   */
  async listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    this.ready = this.options.model.then(
      (model) => {
        this.loaded = { model, batcher: new DynamicBatcher(model, this.options.batching) };
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
    const path = (request.url ?? '/').split('?')[0]!;
    const method = request.method ?? 'GET';
    if (this.draining) response.setHeader('connection', 'close');
    let entry: Omit<RequestLogEntry, 'latencyMs'>;
    try {
      entry = await this.route(method, path, request, response);
    } catch (error) {
      // Only a bug gets here (route answers HttpErrors itself); answer 500 rather than crash.
      const message = error instanceof Error ? error.message : String(error);
      if (!response.headersSent) sendJson(response, 500, { code: 500, type: 'InternalServerError', message });
      else response.destroy();
      entry = { method, path, status: 500, rows: 0, error: message };
    }
    this.log({ ...entry, latencyMs: Math.round((performance.now() - started) * 1000) / 1000 });
  }

  private async route(method: string, path: string, request: IncomingMessage, response: ServerResponse): Promise<Omit<RequestLogEntry, 'latencyMs'>> {
    const apiMatch = INVOCATIONS_PATH.exec(path);
    const base = { method, path };
    try {
      if (path === '/ping') {
        allow(method, ['GET', 'HEAD']);
        const status = this.ping();
        sendJson(response, status.code, status);
        return { ...base, status: status.code, rows: 0 };
      }
      if (path === '/execution-parameters') {
        allow(method, ['GET']);
        sendJson(response, 200, { MaxConcurrentTransforms: 1, BatchStrategy: 'MULTI_RECORD', MaxPayloadInMB: Math.floor(this.maxPayloadBytes / 1024 / 1024) });
        return { ...base, status: 200, rows: 0 };
      }
      if (path !== '/invocations' && apiMatch === null) {
        throw new HttpError(404, 'NotFound', `no route ${path}; this server answers GET /ping, POST /invocations, POST /endpoints/<name>/invocations and GET /execution-parameters`);
      }
      allow(method, ['POST']);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      request.resume();
      sendError(response, error);
      return { ...base, status: error.status, rows: 0, error: error.message };
    }

    const attributes = request.headers[CUSTOM_ATTRIBUTES];
    const passThrough: Record<string, string> = typeof attributes === 'string' ? { [CUSTOM_ATTRIBUTES]: attributes } : {};
    try {
      const result = await this.invoke(request);
      const apiHeaders = apiMatch === null ? {} : runtimeApiHeaders(this.variantName);
      // With a content-length, headers and body leave in one write rather than as chunks.
      response.writeHead(200, { 'content-type': result.contentType, 'content-length': Buffer.byteLength(result.body), ...passThrough, ...apiHeaders });
      response.end(result.body);
      return { ...base, status: 200, rows: result.rows, batchRows: result.batchRows, batchRequests: result.batchRequests };
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      if (apiMatch === null) {
        sendError(response, error);
      } else {
        const api = runtimeApiError(error, JSON.stringify(errorBody(error)));
        sendJson(response, api.status, api.body, { ...error.headers, ...api.headers });
      }
      return { ...base, status: apiMatch === null ? error.status : runtimeStatus(error), rows: 0, error: error.message };
    }
  }

  private ping(): { code: number; status: string; message?: string } {
    if (this.draining) return { code: 503, status: 'draining', message: 'server is shutting down' };
    if (this.loaded !== undefined) return { code: 200, status: 'ready' };
    if (this.loadError !== undefined) return { code: 503, status: 'failed', message: this.loadError.message };
    return { code: 503, status: 'loading', message: 'model is loading' };
  }

  private async invoke(request: IncomingMessage): Promise<Invocation> {
    // Format checks first, so a wrong Content-Type or Accept is reported before the upload is read.
    const requestType = requestMediaType(request.headers['content-type']);
    const responseType = responseMediaType(request.headers.accept, requestType);
    const body = await readBody(request, this.maxPayloadBytes).catch((error: unknown) => {
      throw error instanceof HttpError ? error : new HttpError(400, 'BadRequest', `could not read the request body: ${String(error)}`);
    });
    const loaded = this.loaded;
    if (loaded === undefined) {
      throw new HttpError(503, 'ServiceUnavailable', this.loadError === undefined ? 'model is still loading; retry when GET /ping answers 200' : `model failed to load: ${this.loadError.message}`);
    }
    const features = decodeRequest(body, requestType, loaded.model.featureDecoder);
    const result = await withTimeout(loaded.batcher.predict(features), this.timeoutMs);
    const predictions = loaded.model.outputInterpreter.interpret(result.output, features.count);
    return {
      body: encodeResponse(predictions, responseType),
      contentType: responseType,
      rows: features.count,
      batchRows: result.batchRows,
      batchRequests: result.batchRequests,
    };
  }
}

function allow(method: string, methods: readonly string[]): void {
  if (!methods.includes(method)) {
    throw new HttpError(405, 'MethodNotAllowed', `${method} is not allowed here; use ${methods.join(' or ')}`, { allow: methods.join(', ') });
  }
}

function runtimeStatus(error: HttpError): number {
  return error.status === 413 ? 413 : 424;
}

/** `work`, or a 504 after `timeoutMs`; one promise and one timer per request (no race/finally chain). */
function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new HttpError(504, 'ModelTimeout', `prediction took longer than ${timeoutMs / 1000} s (SAGEMAKER_MODEL_SERVER_TIMEOUT)`)),
      timeoutMs,
    );
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function sendError(response: ServerResponse, error: HttpError): void {
  sendJson(response, error.status, errorBody(error), error.headers);
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(response.req.method === 'HEAD' ? undefined : text);
}
