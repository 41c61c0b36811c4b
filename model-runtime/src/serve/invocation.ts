/**
 * One invocation, start to finish: negotiate the formats, read the body, decode its rows into
 * the feature matrix, run it through the dynamic batcher (with the invocation timeout),
 * interpret the output and encode the predictions. Throws an HttpError that says what was wrong.
 */
import type { IncomingMessage } from 'node:http';
import { decodeRequest } from './decode.ts';
import type { DynamicBatcher } from './dynamic-batcher.ts';
import { encodeResponse } from './encode.ts';
import { HttpError } from './http-error.ts';
import type { InferenceModel } from './inference-model.ts';
import { requestMediaType, responseMediaType } from './media-types.ts';
import { readBody } from './read-body.ts';
import type { RouteResponse } from './route-response.ts';

const CUSTOM_ATTRIBUTES = 'x-amzn-sagemaker-custom-attributes';

export interface InvocationLimits {
  readonly maxPayloadBytes: number;
  readonly timeoutMs: number;
}

/** The model and its batcher once loaded; the reason it is not, while it is not. */
export type ModelState =
  | { readonly model: InferenceModel; readonly batcher: DynamicBatcher }
  | { readonly model: undefined; readonly unavailable: string };

export async function invoke(request: IncomingMessage, state: () => ModelState, limits: InvocationLimits): Promise<RouteResponse> {
  // Format checks first, so a wrong Content-Type or Accept is reported before the upload is read.
  const requestType = requestMediaType(request.headers['content-type']);
  const responseType = responseMediaType(request.headers.accept, requestType);
  const body = await readBody(request, limits.maxPayloadBytes).catch((error: unknown) => {
    throw error instanceof HttpError ? error : new HttpError(400, 'BadRequest', `could not read the request body: ${String(error)}`);
  });
  const loaded = state();
  if (loaded.model === undefined) throw new HttpError(503, 'ServiceUnavailable', loaded.unavailable);
  const features = decodeRequest(body, requestType, loaded.model.featureDecoder);
  const result = await withTimeout(loaded.batcher.predict(features), limits.timeoutMs);
  const predictions = loaded.model.outputInterpreter.interpret(result.output, features.count);
  const attributes = request.headers[CUSTOM_ATTRIBUTES];
  return {
    status: 200,
    headers: typeof attributes === 'string' ? { 'content-type': responseType, [CUSTOM_ATTRIBUTES]: attributes } : { 'content-type': responseType },
    body: encodeResponse(predictions, responseType),
    log: { rows: features.count, batchRows: result.batchRows, batchRequests: result.batchRequests },
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
