/**
 * What a request is answered with: a handler returns one (route-table.ts), the error renderer
 * makes one (error-response.ts), and the server writes it, adding content-length (server.ts).
 */
import type { RequestLogFields } from './log.ts';

export interface RouteResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** This request's fields of the log line (method, path, status and latency are the server's). */
  readonly log: RequestLogFields;
}
