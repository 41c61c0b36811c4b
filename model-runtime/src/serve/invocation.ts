/**
 * One invocation, start to finish: negotiate the formats, read the body, hand it to the served
 * model (with the invocation timeout) and pass its answer on with SageMaker's custom attributes.
 * Throws an HttpError that says what was wrong.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.ts';
import { requestMediaType, responseMediaType } from './media-types.ts';
import { readBody } from './read-body.ts';
import type { RouteResponse } from './route-response.ts';
import type { ServedModel } from './served-model.ts';

const CUSTOM_ATTRIBUTES = 'x-amzn-sagemaker-custom-attributes';

export interface InvocationLimits {
  readonly maxPayloadBytes: number;
  readonly timeoutMs: number;
}

/** The model once loaded; the reason it is not, while it is not. */
export type ModelState = { readonly model: ServedModel } | { readonly model: undefined; readonly unavailable: string };

export async function invoke(request: IncomingMessage, state: () => ModelState, limits: InvocationLimits): Promise<RouteResponse> {
  // Format checks first, so a wrong Content-Type or Accept is reported before the upload is read.
  const contentType = requestMediaType(request.headers['content-type']);
  const accept = responseMediaType(request.headers.accept, contentType);
  const body = await readBody(request, limits.maxPayloadBytes).catch((error: unknown) => {
    throw error instanceof HttpError ? error : new HttpError(400, 'BadRequest', `could not read the request body: ${String(error)}`);
  });
  const loaded = state();
  if (loaded.model === undefined) throw new HttpError(503, 'ServiceUnavailable', loaded.unavailable);
  const answer = await withTimeout(loaded.model.invoke(body, { contentType, accept }), limits.timeoutMs);
  const attributes = request.headers[CUSTOM_ATTRIBUTES];
  return {
    status: 200,
    headers: typeof attributes === 'string' ? { 'content-type': answer.contentType, [CUSTOM_ATTRIBUTES]: attributes } : { 'content-type': answer.contentType },
    body: answer.body,
    log: answer.log,
  };
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
