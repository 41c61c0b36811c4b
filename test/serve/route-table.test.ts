import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../model-runtime/src/serve/http-error.ts';
import type { RouteResponse } from '../../model-runtime/src/serve/route-response.ts';
import { RouteTable } from '../../model-runtime/src/serve/route-table.ts';

const request = {} as IncomingMessage; // the handlers below never read it
const ok = (body: string): RouteResponse => ({ status: 200, headers: { 'content-type': 'text/plain' }, body, log: { rows: 0 } });

function table(): RouteTable {
  return new RouteTable()
    .addRoute('GET', '/ping', () => ok('pong'))
    .addRoute('HEAD', '/ping', () => ok('pong'))
    .addRoute('POST', '/invocations', () => {
      throw new HttpError(415, 'UnsupportedMediaType', 'send JSON');
    })
    .addRoute('POST', '/endpoints/:name/invocations', () => {
      throw new TypeError("Cannot read properties of undefined (reading 'x')");
    }, 'runtime-api')
    .addRoute('POST', '/endpoints/:name/too-large', () => {
      throw new HttpError(413, 'PayloadTooLarge', 'the limit is 6 MB');
    }, 'runtime-api');
}

describe('RouteTable.dispatch', () => {
  it('finds a handler by exact path, or by a :name segment, and by method', async () => {
    expect((await table().dispatch('GET', '/ping', request)).body).toBe('pong');
    expect((await table().dispatch('POST', '/endpoints/anything/invocations', request)).status).toBe(424);
    expect((await table().dispatch('POST', '/endpoints/a/b/invocations', request)).status).toBe(404);
  });

  it('answers an unknown path with a 404 that lists the routes there are', async () => {
    const answer = await table().dispatch('GET', '/predict', request);
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body)).toEqual({
      code: 404,
      type: 'NotFound',
      message: 'no route /predict; this server answers GET /ping, POST /invocations, POST /endpoints/<name>/invocations and POST /endpoints/<name>/too-large',
    });
  });

  it('answers a known path with the wrong method with a 405 and Allow, whatever the route\'s error format', async () => {
    const ping = await table().dispatch('DELETE', '/ping', request);
    expect(ping).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' } });
    expect(JSON.parse(ping.body)).toMatchObject({ code: 405, message: 'DELETE is not allowed here; use GET or HEAD' });
    const api = await table().dispatch('GET', '/endpoints/x/invocations', request);
    expect(api).toMatchObject({ status: 405, headers: { allow: 'POST' } });
  });

  it('renders a thrown HttpError in the container format, with its status, and logs why', async () => {
    const answer = await table().dispatch('POST', '/invocations', request);
    expect(answer).toMatchObject({ status: 415, headers: { 'content-type': 'application/json' }, log: { rows: 0, error: 'send JSON' } });
    expect(JSON.parse(answer.body)).toEqual({ code: 415, type: 'UnsupportedMediaType', message: 'send JSON' });
  });

  it('renders a bug on a runtime-API route as SageMaker does a container 500: 424 ModelError with OriginalStatusCode 500', async () => {
    const answer = await table().dispatch('POST', '/endpoints/x/invocations', request);
    expect(answer.status).toBe(424);
    expect(answer.headers['x-amzn-errortype']).toBe('ModelError');
    const body = JSON.parse(answer.body) as { message: string; OriginalStatusCode: number; OriginalMessage: string };
    expect(body.OriginalStatusCode).toBe(500);
    expect(body.message).toMatch(/^Received server error \(500\) from primary with message/);
    expect(JSON.parse(body.OriginalMessage)).toEqual({ code: 500, type: 'InternalServerError', message: "Cannot read properties of undefined (reading 'x')" });
  });

  it('renders a payload over the limit on a runtime-API route as 413 ValidationError', async () => {
    const answer = await table().dispatch('POST', '/endpoints/x/too-large', request);
    expect(answer).toMatchObject({ status: 413, headers: { 'x-amzn-errortype': 'ValidationError' } });
    expect(JSON.parse(answer.body)).toEqual({ message: 'the limit is 6 MB' });
  });

  it('refuses a route added twice', () => {
    expect(() => table().addRoute('GET', '/ping', () => ok(''))).toThrow('route GET /ping is added twice');
  });
});
