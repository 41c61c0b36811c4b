/**
 * One invocation, start to finish: negotiate the formats, read the body, hand it to the served
 * model (with the invocation timeout) and pass its answer on with SageMaker's custom attributes.
 * Throws an HttpError that says what was wrong.
 *
 * A streamed answer's first piece is awaited here, so that what fails before it (a prompt too
 * long for the model) is still answered with its status; the invocation timeout then bounds the
 * whole stream: past it the producer is stopped and the stream ends with a 504's reason inside.
 */
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { toHttpError } from './error-response.ts';
import { HttpError } from './http-error.ts';
import { acceptsEventStream, JSON_TYPE, requestMediaType, responseMediaType } from './media-types.ts';
import { readBody } from './read-body.ts';
import type { RouteResponse } from './route-response.ts';
import type { ServedModel, StreamedInvocationAnswer } from './served-model.ts';

const CUSTOM_ATTRIBUTES = 'x-amzn-sagemaker-custom-attributes';

export interface InvocationLimits {
  readonly maxPayloadBytes: number;
  readonly timeoutMs: number;
}

/** The model once loaded; the reason it is not, while it is not. */
export type ModelState = { readonly model: ServedModel } | { readonly model: undefined; readonly unavailable: string };

/**
 * `acceptHeader`: the client's Accept (the runtime API's stream route carries it in
 * X-Amzn-SageMaker-Accept, its own Accept being the event stream's).
 */
export async function invoke(
  request: IncomingMessage,
  state: () => ModelState,
  limits: InvocationLimits,
  acceptHeader: string | undefined = request.headers.accept,
): Promise<RouteResponse> {
  const started = performance.now();
  // Format checks first, so a wrong Content-Type or Accept is reported before the upload is read.
  const contentType = requestMediaType(request.headers['content-type']);
  const eventStream = acceptsEventStream(acceptHeader);
  const accept = eventStream ? JSON_TYPE : responseMediaType(acceptHeader, contentType);
  const body = await readBody(request, limits.maxPayloadBytes).catch((error: unknown) => {
    throw error instanceof HttpError ? error : new HttpError(400, 'BadRequest', `could not read the request body: ${String(error)}`);
  });
  const loaded = state();
  if (loaded.model === undefined) throw new HttpError(503, 'ServiceUnavailable', loaded.unavailable);
  const answer = await withTimeout(loaded.model.invoke(body, { contentType, accept, eventStream }), limits.timeoutMs);
  const attributes = request.headers[CUSTOM_ATTRIBUTES];
  const headers: Record<string, string> = typeof attributes === 'string' ? { 'content-type': answer.contentType, [CUSTOM_ATTRIBUTES]: attributes } : { 'content-type': answer.contentType };
  if (!('chunks' in answer)) return { status: 200, headers, body: answer.body, log: answer.log };
  const chunks = withDeadline(answer.chunks, started + limits.timeoutMs, limits.timeoutMs);
  const first = await chunks.next(); // an error before the first piece still has its status
  return {
    status: 200,
    headers,
    body: '',
    stream: { chunks: first.done === true ? chunks : prepend(first.value, chunks), failure: (error) => answer.failure(toHttpError(error)) },
    log: answer.log,
  };
}

function timeoutError(timeoutMs: number): HttpError {
  return new HttpError(504, 'ModelTimeout', `prediction took longer than ${timeoutMs / 1000} s (SAGEMAKER_MODEL_SERVER_TIMEOUT)`);
}

/** The pieces until `deadline` (a performance.now() time); then the producer is stopped and a 504 thrown. */
async function* withDeadline(chunks: StreamedInvocationAnswer['chunks'], deadline: number, timeoutMs: number): AsyncGenerator<string, void, undefined> {
  let finished = false;
  try {
    for (;;) {
      const next = await withTimeout(chunks.next(), Math.max(0, deadline - performance.now()), timeoutError(timeoutMs));
      if (next.done === true) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    // Left early (a client gone, the deadline): stop the producer; it finishes the step it is in, then takes no more.
    if (!finished) await chunks.return(undefined).catch(() => undefined);
  }
}

async function* prepend<T>(first: T, rest: AsyncGenerator<T, void, undefined>): AsyncGenerator<T, void, undefined> {
  try {
    yield first;
    yield* rest;
  } finally {
    await rest.return(undefined);
  }
}

/** `work`, or a 504 after `timeoutMs`; one promise and one timer per request (no race/finally chain). */
function withTimeout<T>(work: Promise<T>, timeoutMs: number, timeout: HttpError = timeoutError(timeoutMs)): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timeout), timeoutMs);
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
