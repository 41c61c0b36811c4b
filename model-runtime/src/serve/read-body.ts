/**
 * Reads a request body up to a byte limit (SageMaker real-time endpoints cap payloads at about
 * 6 MB), so an oversized upload is refused with a 413 instead of filling memory.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.ts';

/** 6 MB, SageMaker's real-time InvokeEndpoint payload limit. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

export function payloadTooLarge(bytes: number | undefined, limit: number): HttpError {
  const size = bytes === undefined ? 'more than that' : `${bytes} bytes`;
  return new HttpError(
    413,
    'PayloadTooLarge',
    `request body is too large: the limit is ${limit} bytes (${(limit / 1024 / 1024).toFixed(0)} MB) and this one is ${size}; split the rows over several requests or use batch transform`,
  );
}

/** The body's bytes, as sent: each model decodes them (and says so when they are not UTF-8). */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume(); // discard the upload so the client can read the 413
    return Promise.reject(payloadTooLarge(declared, limit));
  }
  return new Promise((resolve, reject) => {
    // A small body arrives in one chunk: hand that one on rather than copy it into a new buffer first.
    let first: Buffer | undefined;
    let rest: Buffer[] | undefined;
    let received = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      received += chunk.length;
      if (received > limit) {
        refused = true;
        first = rest = undefined;
        reject(payloadTooLarge(undefined, limit));
        return;
      }
      if (first === undefined) first = chunk;
      else (rest ??= [first]).push(chunk);
    });
    request.on('end', () => {
      if (refused) return;
      if (rest !== undefined) resolve(Buffer.concat(rest, received));
      else resolve(first ?? Buffer.alloc(0));
    });
    request.on('error', reject);
  });
}
