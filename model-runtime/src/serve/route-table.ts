/**
 * The server's route table, in the manner of hono's router: `addRoute(method, path, handler)`
 * fills a table, and a handler returns its response (status, headers, body, log fields) instead
 * of writing it. `dispatch` finds the handler for a request, or the 404 or 405 that says why
 * there is none, and turns anything a handler throws into the error response of that route's
 * format (error-response.ts). Every request therefore ends as exactly one RouteResponse, which
 * the server writes, and logs, in one place.
 *
 * A path is matched exactly, or segment by segment where it has a `:name` placeholder
 * (`/endpoints/:name/invocations`).
 */
import type { IncomingMessage } from 'node:http';
import { renderError, type ErrorFormat } from './error-response.ts';
import { HttpError } from './http-error.ts';
import type { RouteResponse } from './route-response.ts';

export type Handler = (request: IncomingMessage) => RouteResponse | Promise<RouteResponse>;

interface Route {
  readonly handler: Handler;
  readonly errors: ErrorFormat;
}

/** The routes of one path, by method. */
interface PathRoutes {
  readonly path: string;
  readonly pattern: RegExp | undefined;
  readonly methods: Map<string, Route>;
}

export class RouteTable {
  private readonly exact = new Map<string, PathRoutes>();
  private readonly patterns: PathRoutes[] = [];
  /** Every path in the order added, for the 404's list of what there is. */
  private readonly paths: PathRoutes[] = [];

  /** `errors`: the format this route's errors are answered in (the container's, or the runtime API's). */
  addRoute(method: string, path: string, handler: Handler, errors: ErrorFormat = 'container'): this {
    let routes = this.paths.find((entry) => entry.path === path);
    if (routes === undefined) {
      const pattern = path.includes('/:') ? new RegExp(`^${path.replace(/\/:[^/]+/g, '/[^/]+')}$`) : undefined;
      routes = { path, pattern, methods: new Map() };
      this.paths.push(routes);
      if (pattern === undefined) this.exact.set(path, routes);
      else this.patterns.push(routes);
    }
    if (routes.methods.has(method)) throw new Error(`route ${method} ${path} is added twice`);
    routes.methods.set(method, { handler, errors });
    return this;
  }

  /** The response for a request: its handler's, or the error it ends in, rendered in its route's format. */
  async dispatch(method: string, path: string, request: IncomingMessage): Promise<RouteResponse> {
    const routes = this.exact.get(path) ?? this.patterns.find((entry) => entry.pattern!.test(path));
    if (routes === undefined) {
      return renderError(new HttpError(404, 'NotFound', `no route ${path}; this server answers ${this.describe()}`), 'container');
    }
    const route = routes.methods.get(method);
    if (route === undefined) {
      const allowed = [...routes.methods.keys()];
      return renderError(
        new HttpError(405, 'MethodNotAllowed', `${method} is not allowed here; use ${allowed.join(' or ')}`, { allow: allowed.join(', ') }),
        'container',
      );
    }
    try {
      return await route.handler(request);
    } catch (error) {
      return renderError(error, route.errors);
    }
  }

  /** `GET /ping, POST /invocations and ...`; HEAD goes without saying beside GET. */
  private describe(): string {
    const routes = this.paths.map((entry) => {
      const methods = [...entry.methods.keys()].filter((method) => method !== 'HEAD' || !entry.methods.has('GET'));
      return `${methods.join('/')} ${entry.path.replace(/\/:([^/]+)/g, '/<$1>')}`;
    });
    return routes.length === 1 ? routes[0]! : `${routes.slice(0, -1).join(', ')} and ${routes.at(-1)}`;
  }
}
