/**
 * An error the server answers with a specific status and a JSON body, so a client can act on it.
 * Anything thrown that is not an HttpError is the server's own fault and becomes a 500.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    /** A stable, machine-readable name for the kind of error, e.g. `UnsupportedMediaType`. */
    readonly type: string,
    message: string,
    /** Extra response headers, e.g. `Allow` on a 405. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The JSON body of every error response: `{"code": 400, "type": "BadRequest", "message": "..."}`. */
export interface ErrorBody {
  readonly code: number;
  readonly type: string;
  readonly message: string;
}

export function errorBody(error: HttpError): ErrorBody {
  return { code: error.status, type: error.type, message: error.message };
}

export const badRequest = (message: string): HttpError => new HttpError(400, 'BadRequest', message);
