/**
 * The one error renderer: whatever a request ends in (an HttpError, or a bug) becomes its
 * response here, in the format of the route it came in on, with the status it is sent with.
 *
 * - `container`, for SageMaker's container contract (/ping, /invocations): the error's own
 *   status and headers (e.g. Allow on a 405), body `{"code": 400, "type": "BadRequest",
 *   "message": "..."}`. A bug is a 500 InternalServerError.
 * - `runtime-api`, for `POST /endpoints/<name>/invocations`, where the AWS SDK's
 *   SageMakerRuntimeClient expects what SageMaker's runtime API answers: any error the model
 *   container answers (400, 406, 415, 5xx) becomes HTTP 424 with `x-amzn-errortype: ModelError`
 *   and body `{message, OriginalStatusCode, OriginalMessage}` (OriginalMessage: the container's
 *   body above), which the SDK throws as its typed ModelError, so code that handles errors locally
 *   handles them the same way in the cloud; a body over the payload limit never reaches a
 *   container there, SageMaker's front door refuses it: 413 with `x-amzn-errortype:
 *   ValidationError`, which the SDK throws as ValidationError.
 */
import { randomUUID } from 'node:crypto';
import { HttpError, errorBody } from './http-error.ts';
import { JSON_TYPE } from './media-types.ts';
import type { RouteResponse } from './route-response.ts';

export type ErrorFormat = 'container' | 'runtime-api';

/** An HttpError as it is; anything else (a bug) as a 500 with its message. */
export function toHttpError(error: unknown): HttpError {
  return error instanceof HttpError ? error : new HttpError(500, 'InternalServerError', error instanceof Error ? error.message : String(error));
}

export function renderError(error: unknown, format: ErrorFormat): RouteResponse {
  const httpError = toHttpError(error);
  const log = { rows: 0, error: httpError.message };
  const containerBody = JSON.stringify(errorBody(httpError));
  if (format === 'container') {
    return { status: httpError.status, headers: { 'content-type': JSON_TYPE, ...httpError.headers }, body: containerBody, log };
  }
  const requestId = randomUUID();
  if (httpError.status === 413) {
    return {
      status: 413,
      headers: { 'content-type': JSON_TYPE, ...httpError.headers, 'x-amzn-errortype': 'ValidationError', 'x-amzn-requestid': requestId },
      body: JSON.stringify({ message: httpError.message }),
      log,
    };
  }
  const kind = httpError.status < 500 ? 'client' : 'server';
  return {
    status: 424,
    headers: { 'content-type': JSON_TYPE, ...httpError.headers, 'x-amzn-errortype': 'ModelError', 'x-amzn-requestid': requestId },
    body: JSON.stringify({
      message: `Received ${kind} error (${httpError.status}) from primary with message "${containerBody}".`,
      OriginalStatusCode: httpError.status,
      OriginalMessage: containerBody,
    }),
    log,
  };
}
