/**
 * The content types the server reads and writes, and Accept negotiation between them.
 */
import { HttpError } from './http-error.ts';

export const JSON_TYPE = 'application/json';
export const CSV_TYPE = 'text/csv';
export const JSON_LINES_TYPE = 'application/jsonlines';
/** Server-Sent Events: only a streamed answer (a text generation with "stream": true) comes in it. */
export const EVENT_STREAM_TYPE = 'text/event-stream';

export type MediaType = typeof JSON_TYPE | typeof CSV_TYPE | typeof JSON_LINES_TYPE;

export const SUPPORTED_MEDIA_TYPES: readonly MediaType[] = [JSON_TYPE, CSV_TYPE, JSON_LINES_TYPE];

/** Binary bodies the image and audio models read; answers are always text (JSON by default). */
export const PNG_TYPE = 'image/png';
export const JPEG_TYPE = 'image/jpeg';
export const WAV_TYPE = 'audio/wav';
export type BinaryMediaType = typeof PNG_TYPE | typeof JPEG_TYPE | typeof WAV_TYPE;
export const BINARY_MEDIA_TYPES: readonly BinaryMediaType[] = [PNG_TYPE, JPEG_TYPE, WAV_TYPE];

/** What a request body may be. */
export type RequestMediaType = MediaType | BinaryMediaType;

export function isTextMediaType(type: RequestMediaType): type is MediaType {
  return (SUPPORTED_MEDIA_TYPES as readonly string[]).includes(type);
}

/**
 * Spellings seen in the wild for the same three formats. A Map, not an object literal: a
 * Content-Type of `constructor` or `__proto__` must not find Object's own properties.
 */
const ALIASES: ReadonlyMap<string, MediaType> = new Map<string, MediaType>([
  ['application/json', JSON_TYPE],
  ['text/json', JSON_TYPE],
  ['text/csv', CSV_TYPE],
  ['application/csv', CSV_TYPE],
  ['application/jsonlines', JSON_LINES_TYPE],
  ['application/jsonl', JSON_LINES_TYPE],
  ['application/x-jsonlines', JSON_LINES_TYPE],
  ['application/json-lines', JSON_LINES_TYPE],
  ['application/x-ndjson', JSON_LINES_TYPE],
]);

const BINARY_ALIASES: ReadonlyMap<string, BinaryMediaType> = new Map<string, BinaryMediaType>([
  ['image/png', PNG_TYPE],
  ['image/jpeg', JPEG_TYPE],
  ['image/jpg', JPEG_TYPE],
  ['audio/wav', WAV_TYPE],
  ['audio/x-wav', WAV_TYPE],
  ['audio/wave', WAV_TYPE],
  ['audio/vnd.wave', WAV_TYPE],
]);

/** `text/csv; charset=utf-8` -> `text/csv`. */
function essence(header: string): string {
  return header.split(';')[0]!.trim().toLowerCase();
}

/**
 * The request body's format. A missing Content-Type is read as JSON (curl and many clients omit
 * it); anything else unsupported is a 415 that lists what is supported. Whether the model being
 * served reads that format is its own check (an image sent to a tabular model is a 415 there).
 */
export function requestMediaType(contentType: string | undefined): RequestMediaType {
  if (contentType === undefined || contentType.trim() === '') return JSON_TYPE;
  // Most clients send the bare type (`application/json`): look that up before taking the header apart.
  const type = ALIASES.get(contentType) ?? ALIASES.get(essence(contentType)) ?? BINARY_ALIASES.get(essence(contentType));
  if (type === undefined) {
    throw new HttpError(
      415,
      'UnsupportedMediaType',
      `Content-Type '${contentType}' is not supported; send one of ${SUPPORTED_MEDIA_TYPES.join(', ')} (image models also ${PNG_TYPE}, ${JPEG_TYPE}; audio models ${WAV_TYPE}).`,
    );
  }
  return type;
}

/**
 * The response format for an Accept header (RFC 9110 q-values, wildcards). Without an Accept
 * header, or with `*\/*`, the answer comes back in the request's own format (CSV in, CSV out).
 * Nothing acceptable is a 406 that lists what the server can produce.
 */
export function responseMediaType(accept: string | undefined, request: RequestMediaType): MediaType {
  // An image or a sound in, JSON out (unless asked for another text format).
  const requestType = isTextMediaType(request) ? request : JSON_TYPE;
  if (accept === undefined || accept.trim() === '') return requestType;
  const ranges = accept
    .split(',')
    .map((part, order) => {
      const [range = '', ...params] = part.split(';').map((token) => token.trim().toLowerCase());
      const q = params.find((param) => param.startsWith('q='));
      return { range, q: q === undefined ? 1 : Number(q.slice(2)), order };
    })
    .filter((entry) => entry.range !== '' && Number.isFinite(entry.q) && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.order - b.order);
  for (const { range } of ranges) {
    const match = matchRange(range, requestType);
    if (match !== undefined) return match;
  }
  throw new HttpError(
    406,
    'NotAcceptable',
    `Accept '${accept}' matches nothing this server produces; accept one of ${SUPPORTED_MEDIA_TYPES.join(', ')}.`,
  );
}

function matchRange(range: string, requestType: MediaType): MediaType | undefined {
  if (range === '*/*') return requestType;
  const exact = ALIASES.get(range);
  if (exact !== undefined) return exact;
  if (range.endsWith('/*')) {
    const family = range.slice(0, -1);
    if (requestType.startsWith(family)) return requestType;
    return SUPPORTED_MEDIA_TYPES.find((type) => type.startsWith(family));
  }
  return undefined;
}

/** Whether Accept names text/event-stream (with a q above 0): the client wants a streamed answer as Server-Sent Events. */
export function acceptsEventStream(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((part) => {
    const [range = '', ...params] = part.split(';').map((token) => token.trim().toLowerCase());
    const q = params.find((param) => param.startsWith('q='));
    return range === EVENT_STREAM_TYPE && (q === undefined || Number(q.slice(2)) > 0);
  });
}
