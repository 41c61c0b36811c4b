/**
 * The SageMaker runtime API's response shape, for `POST /endpoints/<name>/invocations`, so the
 * AWS SDK's SageMakerRuntimeClient pointed at this server behaves as it does against AWS:
 *
 * - success: the model's body and Content-Type, plus `x-amzn-invoked-production-variant` and the
 *   custom attributes (InvokedProductionVariant, CustomAttributes in the SDK's output);
 * - any error the model container answers (400, 406, 415, 5xx) becomes what SageMaker makes of
 *   it: HTTP 424, `x-amzn-errortype: ModelError`, body `{message, OriginalStatusCode,
 *   OriginalMessage}`; the SDK throws its typed `ModelError`, whose OriginalStatusCode says
 *   whether the caller (400) or the model (5xx) was at fault. Code that handles errors locally
 *   therefore handles them the same way in the cloud;
 * - a body over the payload limit is refused by SageMaker's front door before any container
 *   sees it: 413 with `x-amzn-errortype: ValidationError`, which the SDK throws as ValidationError.
 */
import { randomUUID } from 'node:crypto';
import type { HttpError } from './http-error.ts';

/** The variant name of an endpoint created with a single production variant. */
export const DEFAULT_VARIANT_NAME = 'AllTraffic';

export const INVOCATIONS_PATH = /^\/endpoints\/([^/]+)\/invocations$/;

export interface RuntimeApiError {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;
}

export function runtimeApiHeaders(variantName: string): Record<string, string> {
  return { 'x-amzn-invoked-production-variant': variantName, 'x-amzn-requestid': randomUUID() };
}

export function runtimeApiError(error: HttpError, containerBody: string): RuntimeApiError {
  const requestId = randomUUID();
  if (error.status === 413) {
    return {
      status: 413,
      headers: { 'x-amzn-errortype': 'ValidationError', 'x-amzn-requestid': requestId },
      body: { message: error.message },
    };
  }
  const kind = error.status < 500 ? 'client' : 'server';
  return {
    status: 424,
    headers: { 'x-amzn-errortype': 'ModelError', 'x-amzn-requestid': requestId },
    body: {
      message: `Received ${kind} error (${error.status}) from primary with message "${containerBody}".`,
      OriginalStatusCode: error.status,
      OriginalMessage: containerBody,
    },
  };
}
