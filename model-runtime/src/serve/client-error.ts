/**
 * Requests Node's HTTP parser refuses before any route sees them: a chunk size that is not hex, a
 * Content-Length that is not a number, both framings at once, headers over 16 KB, a request not
 * complete within requestTimeout. Node's own answer is a status line with an empty body, which
 * breaks what every other error response promises (a JSON body with a message that says what was
 * wrong). This answers them in the container's error format, with the status Node would have
 * used, and closes the connection: past a framing error the parser cannot tell where the next
 * request starts.
 */
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpError, errorBody } from './http-error.ts';
import { JSON_TYPE } from './media-types.ts';

/** Node's parser error codes that mean something other than a 400. */
const STATUS_BY_CODE: ReadonlyMap<string, { status: number; type: string; hint: string }> = new Map([
  ['HPE_HEADER_OVERFLOW', { status: 431, type: 'RequestHeaderFieldsTooLarge', hint: 'the request headers are over the 16 KB limit; send fewer or shorter headers' }],
  ['HPE_CHUNK_EXTENSIONS_OVERFLOW', { status: 413, type: 'PayloadTooLarge', hint: 'the chunk extensions are over the 16 KB limit' }],
  ['ERR_HTTP_REQUEST_TIMEOUT', { status: 408, type: 'RequestTimeout', hint: 'the request did not arrive in full within the request timeout' }],
]);

export function clientErrorResponse(error: Error & { code?: string }): HttpError {
  const known = error.code === undefined ? undefined : STATUS_BY_CODE.get(error.code);
  if (known !== undefined) return new HttpError(known.status, known.type, `${known.hint} (${error.code})`);
  return new HttpError(400, 'BadRequest', `the request is not valid HTTP/1.1: ${error.message}${error.code === undefined ? '' : ` (${error.code})`}; check its framing (Content-Length or chunked Transfer-Encoding, not both) and headers`);
}

/** Installs the clientError handler on `server`. */
export function answerClientErrors(server: Server): void {
  // A response whose bytes have started on the socket must not be interleaved with this one:
  // such a connection is only cut, as Node does. A request whose handler has not answered yet
  // (its body broke mid-way) gets this answer instead; the handler's later write finds the
  // socket ended and is dropped.
  const responses = new WeakMap<Duplex, Set<ServerResponse>>();
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    const open = responses.get(socket) ?? new Set<ServerResponse>();
    responses.set(socket, open.add(response));
    response.once('close', () => open.delete(response));
  });
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    const started = [...(responses.get(socket) ?? [])].some((response) => response.headersSent);
    if (!socket.writable || error.code === 'ECONNRESET' || started) {
      socket.destroy();
      return;
    }
    const httpError = clientErrorResponse(error);
    const body = JSON.stringify(errorBody(httpError));
    socket.end(
      `HTTP/1.1 ${httpError.status} ${STATUS_CODES[httpError.status] ?? ''}\r\n` +
        `content-type: ${JSON_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
