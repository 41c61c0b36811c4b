/**
 * What a request is answered with: a handler returns one (route-table.ts), the error renderer
 * makes one (error-response.ts), and the server writes it, adding content-length (server.ts),
 * or, for a streamed answer, writes its pieces as they come (chunked transfer).
 */
import type { RequestLogFields } from './log.ts';

/** A body written piece by piece, with backpressure; leaving the iteration early stops its producer. */
export interface StreamedBody {
  /** The pieces after the status and headers (the first already made, so errors before it had their status). */
  readonly chunks: AsyncGenerator<string | Uint8Array, void, undefined>;
  /** The last piece when the stream fails midway: the status is already sent, so the reason travels inside. */
  failure(error: unknown): string | Uint8Array;
}

export interface RouteResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The whole body; '' when `stream` carries it. */
  readonly body: string;
  readonly stream?: StreamedBody;
  /** This request's fields of the log line (method, path, status and latency are the server's). */
  readonly log: RequestLogFields;
}
