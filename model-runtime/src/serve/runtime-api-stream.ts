/**
 * The SageMaker runtime API's InvokeEndpointWithResponseStream, for
 * `POST /endpoints/<name>/invocations-response-stream`: SageMaker forwards the body to the
 * container's /invocations and relays its (chunked) answer as an
 * `application/vnd.amazon.eventstream` of PayloadPart events, which the AWS SDK's
 * InvokeEndpointWithResponseStreamCommand hands out as `Body` (an async iterable of
 * `{ PayloadPart: { Bytes } }`). Here each piece the model streams is one PayloadPart (a whole
 * answer, when the request did not ask for a stream, is one), encoded by @smithy/eventstream-codec,
 * the codec the SDK itself decodes with. A failure after the first part is a ModelStreamError
 * exception event (`ErrorCode` ModelInvocationTimeExceeded past the invocation timeout, else
 * StreamBroken), which the SDK throws from the iteration.
 *
 * The client's Accept travels in X-Amzn-SageMaker-Accept, the answer's Content-Type comes back
 * in X-Amzn-SageMaker-Content-Type (the HTTP ones belong to the event stream).
 */
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { toHttpError } from './error-response.ts';
import type { RouteResponse, StreamedBody } from './route-response.ts';

/** The path the SDK's InvokeEndpointWithResponseStream calls, in the route table's notation. */
export const RUNTIME_API_STREAM_PATH = '/endpoints/:name/invocations-response-stream';
export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';
/** Where the stream route reads the client's Accept from. */
export const SAGEMAKER_ACCEPT = 'x-amzn-sagemaker-accept';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

const PAYLOAD_PART_HEADERS: MessageHeaders = {
  ':event-type': { type: 'string', value: 'PayloadPart' },
  ':content-type': { type: 'string', value: 'application/octet-stream' },
  ':message-type': { type: 'string', value: 'event' },
};

export function payloadPart(bytes: string | Uint8Array): Uint8Array {
  return codec.encode({ headers: PAYLOAD_PART_HEADERS, body: typeof bytes === 'string' ? fromUtf8(bytes) : bytes });
}

/** The exception event the SDK throws as ModelStreamError, with Message and ErrorCode. */
export function modelStreamError(error: unknown): Uint8Array {
  const httpError = toHttpError(error);
  const errorCode = httpError.status === 504 ? 'ModelInvocationTimeExceeded' : 'StreamBroken';
  return codec.encode({
    headers: {
      ':exception-type': { type: 'string', value: 'ModelStreamError' },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'exception' },
    },
    body: fromUtf8(JSON.stringify({ Message: httpError.message, ErrorCode: errorCode })),
  });
}

/** `answer` (the container's, from invocation.ts) as the runtime API streams it, with `headers` (variant, request id) added. */
export function asEventStream(answer: RouteResponse, headers: Readonly<Record<string, string>>): RouteResponse {
  const { 'content-type': contentType, ...passed } = answer.headers;
  const stream: StreamedBody = {
    chunks: payloadParts(answer),
    failure: modelStreamError,
  };
  return {
    status: answer.status,
    headers: { ...passed, ...headers, 'content-type': EVENT_STREAM_CONTENT_TYPE, ...(contentType === undefined ? {} : { 'x-amzn-sagemaker-content-type': contentType }) },
    body: '',
    stream,
    log: answer.log,
  };
}

async function* payloadParts(answer: RouteResponse): AsyncGenerator<Uint8Array, void, undefined> {
  if (answer.stream === undefined) {
    yield payloadPart(answer.body);
    return;
  }
  for await (const chunk of answer.stream.chunks) yield payloadPart(chunk);
}
