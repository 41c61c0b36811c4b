import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceModel } from '../../model-runtime/src/serve/inference-model.ts';
import { InferenceServer } from '../../model-runtime/src/serve/server.ts';
import { loadServedModel } from '../../model-runtime/src/serve/load-served-model.ts';
import { TabularModel } from '../../model-runtime/src/serve/tabular-model.ts';
import { CLASSIFIER_LABELS, classifierProbabilities, regressionTruth } from './fixtures/onnx-models.ts';
import { fixtureArtifacts, invoke, startLocalServer, type FixtureArtifacts, type LocalServer } from './fixtures/local-server.ts';

let artifacts: FixtureArtifacts;
let regression: LocalServer;
let classifier: LocalServer;

beforeAll(async () => {
  artifacts = await fixtureArtifacts();
  regression = await startLocalServer(artifacts.regression);
  classifier = await startLocalServer(artifacts.classifier);
  await Promise.all([regression.server.ready, classifier.server.ready]);
});

afterAll(async () => {
  await regression?.close();
  await classifier?.close();
  await artifacts?.remove();
});

describe('GET /ping', () => {
  it('answers 503 while the model loads and 200 once it is loaded and verified', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const server = new InferenceServer({ model: gate.then(() => loadServedModel(artifacts.regression, { threads: 1 })), log: () => undefined });
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const before = await fetch(`http://127.0.0.1:${port}/ping`);
      expect(before.status).toBe(503);
      expect(await before.json()).toMatchObject({ status: 'loading' });
      const early = await invoke(`http://127.0.0.1:${port}`, '[[1, 2]]');
      expect(early.status).toBe(503);

      release();
      await server.ready;
      const after = await fetch(`http://127.0.0.1:${port}/ping`);
      expect(after.status).toBe(200);
      expect((await invoke(`http://127.0.0.1:${port}`, '[[1, 2]]')).json()).toEqual({ predictions: [regressionTruth(1, 2)] });
    } finally {
      await server.drain(1000);
    }
  });

  it('stays 503 and names the changed file when the manifest does not verify', async () => {
    const tampered = path.join(artifacts.root, 'tampered');
    const { writeRegressionArtifact } = await import('./fixtures/onnx-models.ts');
    await writeRegressionArtifact(tampered);
    await writeFile(path.join(tampered, 'model.json'), '{"tampered": true}\n');
    const server = await startLocalServer(tampered);
    try {
      await expect(server.server.ready).rejects.toThrow(/model\.json/);
      const ping = await fetch(`${server.url}/ping`);
      expect(ping.status).toBe(503);
      expect(await ping.json()).toMatchObject({ status: 'failed', message: expect.stringMatching(/model\.json/) });
    } finally {
      await server.close();
    }
  });

  it('answers HEAD too, with no body', async () => {
    const response = await fetch(`${regression.url}/ping`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });
});

describe('POST /invocations, regression', () => {
  const rows = [[1, 2], [3, 0.5], [-1.25, 4]] as const;
  const truth = rows.map(([x1, x2]) => regressionTruth(x1, x2));

  it('reads {"instances": [...]} and answers {"predictions": [...]} in the target units', async () => {
    const response = await invoke(regression.url, JSON.stringify({ instances: rows }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.json()).toEqual({ predictions: truth });
  });

  it('reads a bare array of rows, one bare row, rows keyed by feature name and {"features": [...]} rows', async () => {
    expect((await invoke(regression.url, JSON.stringify(rows))).json()).toEqual({ predictions: truth });
    expect((await invoke(regression.url, '[3, 0.5]')).json()).toEqual({ predictions: [truth[1]] });
    const keyed = rows.map(([x1, x2]) => ({ x2, x1 }));
    expect((await invoke(regression.url, JSON.stringify({ instances: keyed }))).json()).toEqual({ predictions: truth });
    const builtIn = rows.map((row) => ({ features: row }));
    expect((await invoke(regression.url, JSON.stringify({ instances: builtIn }))).json()).toEqual({ predictions: truth });
  });

  it('reads a body that arrives in several chunks, split mid-number', async () => {
    const chunks = ['{"instances": [[1, ', '2], [3, 0.', '5]]}'].map((text) => new TextEncoder().encode(text));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks.shift();
        if (chunk === undefined) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${regression.url}/invocations`, { method: 'POST', body, duplex: 'half', headers: { 'content-type': 'application/json' } } as RequestInit);
    expect(await response.json()).toEqual({ predictions: [truth[0], truth[1]] });
  });

  it('answers CSV with CSV, one value per line, and accepts a header naming the features in any order', async () => {
    const csv = rows.map((row) => row.join(',')).join('\n');
    const plain = await invoke(regression.url, csv, { 'content-type': 'text/csv; charset=utf-8' });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/csv');
    expect(plain.text).toBe(truth.map((value) => `${value}\n`).join(''));

    const withHeader = `x2,x1\n${rows.map(([x1, x2]) => `${x2},${x1}`).join('\n')}\n`;
    expect((await invoke(regression.url, withHeader, { 'content-type': 'text/csv' })).text).toBe(plain.text);
  });

  it('answers JSON lines with JSON lines', async () => {
    const body = rows.map((row, index) => JSON.stringify(index === 1 ? { x1: row[0], x2: row[1] } : row)).join('\n');
    const response = await invoke(regression.url, body, { 'content-type': 'application/jsonlines' });
    expect(response.headers.get('content-type')).toBe('application/jsonlines');
    expect(response.text.trim().split('\n').map((line) => JSON.parse(line))).toEqual(truth);
  });

  it('negotiates the response format from Accept, q-values and wildcards included', async () => {
    const csv = '1,2\n';
    const accept = async (value: string) => (await invoke(regression.url, csv, { 'content-type': 'text/csv', accept: value })).headers.get('content-type');
    expect(await accept('application/json')).toBe('application/json');
    expect(await accept('text/csv;q=0.5, application/jsonlines')).toBe('application/jsonlines');
    expect(await accept('*/*')).toBe('text/csv');
    expect(await accept('application/*')).toBe('application/json');
    expect(await accept('image/png, text/*;q=0.1')).toBe('text/csv');
  });

  it('passes X-Amzn-SageMaker-Custom-Attributes through to the response', async () => {
    const response = await invoke(regression.url, '[1, 2]', {
      'content-type': 'application/json',
      'x-amzn-sagemaker-custom-attributes': 'trace_id=abc,tenant=7',
    });
    expect(response.headers.get('x-amzn-sagemaker-custom-attributes')).toBe('trace_id=abc,tenant=7');
  });

  it('logs one line per request with method, path, status, rows and latency', async () => {
    const before = regression.log.length;
    await invoke(regression.url, JSON.stringify(rows));
    await invoke(regression.url, '[1]');
    expect(regression.log.slice(before)).toEqual([
      expect.objectContaining({ method: 'POST', path: '/invocations', status: 200, rows: 3, latencyMs: expect.any(Number) }),
      expect.objectContaining({ method: 'POST', path: '/invocations', status: 400, rows: 0, error: expect.stringContaining('expected rows of 2 features') }),
    ]);
  });
});

describe('POST /invocations, classifier', () => {
  it('answers each row with its label and every class probability', async () => {
    const rows = [[1, 0], [0, 1], [0, 0]];
    const response = await invoke(classifier.url, JSON.stringify({ instances: rows }));
    const { predictions } = response.json() as { predictions: { label: string; probabilities: Record<string, number> }[] };
    expect(predictions.map((p) => p.label)).toEqual(['setosa', 'versicolor', 'virginica']);
    predictions.forEach((prediction, index) => {
      const expected = classifierProbabilities(rows[index]![0]!, rows[index]![1]!);
      CLASSIFIER_LABELS.forEach((label, k) => expect(prediction.probabilities[label]).toBeCloseTo(expected[k]!, 6));
    });
  });

  it('answers CSV with the label column', async () => {
    const response = await invoke(classifier.url, 'petal_length,petal_width\n1,0\n0,1\n', { 'content-type': 'text/csv' });
    expect(response.text).toBe('setosa\nversicolor\n');
  });
});

describe('errors a client can act on', () => {
  const expectError = (response: { status: number; headers: Headers; json: () => unknown }, status: number, message: RegExp) => {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.json()).toMatchObject({ code: status, type: expect.any(String), message: expect.stringMatching(message) });
  };

  it('400 for a body that is not valid JSON', async () => {
    expectError(await invoke(regression.url, '{"instances": [[1, 2]'), 400, /not valid JSON/);
  });

  it('400 naming the expected shape and feature names for a wrong feature count', async () => {
    expectError(await invoke(regression.url, '{"instances": [[1, 2], [1, 2, 3]]}'), 400, /instances\[1\]: has 3 values; expected rows of 2 features \[x1, x2\]/);
    expectError(await invoke(regression.url, '1,2,3\n', { 'content-type': 'text/csv' }), 400, /line 1: has 3 values; expected rows of 2 features \[x1, x2\]/);
  });

  it('400 for values that are not numbers, unknown or missing features, and no rows', async () => {
    expectError(await invoke(regression.url, '1,abc\n', { 'content-type': 'text/csv' }), 400, /"abc" for feature 'x2' is not a finite number/);
    expectError(await invoke(regression.url, '[{"x1": 1, "x3": 2}]'), 400, /'x3' is not a feature of this model/);
    expectError(await invoke(regression.url, '[{"x1": 1}]'), 400, /missing feature 'x2'/);
    expectError(await invoke(regression.url, '[[1, "2"]]'), 400, /row 0\[1\]: is "2", not a finite number/);
    expectError(await invoke(regression.url, '{"instances": []}'), 400, /no rows/);
    // Finite in JavaScript, but Infinity as the float32 model.onnx reads: the answer would be NaN with a 200.
    expectError(await invoke(regression.url, '[[1, 1e39]]'), 400, /row 0\[1\]: is 1e\+39, beyond float32 \(magnitude at most 3\.4e38\)/);
    expectError(await invoke(regression.url, '1,-4e38\n', { 'content-type': 'text/csv' }), 400, /line 1: value "-4e38" for feature 'x2' is beyond float32 \(magnitude at most 3\.4e38\)/);
    expectError(await invoke(regression.url, '[[1, 1e400]]'), 400, /row 0\[1\]: is Infinity, not a finite number/);
  });

  it('404 for an unknown route, listing the routes there are', async () => {
    const response = await fetch(`${regression.url}/predict`, { method: 'POST', body: '[1, 2]' });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({
      message: 'no route /predict; this server answers GET /ping, POST /invocations, POST /endpoints/<name>/invocations and GET /execution-parameters',
    });
  });

  it('405 with Allow for a wrong method', async () => {
    const get = await fetch(`${regression.url}/invocations`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const post = await fetch(`${regression.url}/ping`, { method: 'POST', body: '' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('406 when nothing in Accept can be produced', async () => {
    expectError(await invoke(regression.url, '[1, 2]', { 'content-type': 'application/json', accept: 'image/png' }), 406, /text\/csv/);
  });

  it('413 above the 6 MB payload limit, declared or streamed', async () => {
    const big = `[${'1,'.repeat(3 * 1024 * 1024)}1]`; // > 6 MB
    expectError(await invoke(regression.url, big), 413, /limit is 6291456 bytes/);

    const small = await startLocalServer(artifacts.regression, { maxPayloadBytes: 1024 });
    try {
      const chunks = [new TextEncoder().encode('['), new TextEncoder().encode('1,'.repeat(1024)), new TextEncoder().encode('1]')];
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = chunks.shift();
          if (chunk === undefined) controller.close();
          else controller.enqueue(chunk);
        },
      });
      const response = await fetch(`${small.url}/invocations`, { method: 'POST', body: stream, duplex: 'half', headers: { 'content-type': 'application/json' } } as RequestInit);
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ message: expect.stringContaining('limit is 1024 bytes') });
    } finally {
      await small.close();
    }
  });

  it('415 for a content type it cannot read, listing the ones it can', async () => {
    expectError(await invoke(regression.url, '<rows/>', { 'content-type': 'application/xml' }), 415, /application\/json, text\/csv, application\/jsonlines/);
  });

  it('504 naming SAGEMAKER_MODEL_SERVER_TIMEOUT when a prediction runs past the timeout', async () => {
    // A real model made slow: every forward pass first waits 200 ms.
    const slowModel = InferenceModel.load(artifacts.regression, { threads: 1 }).then((model) => {
      const predict = model.predict.bind(model);
      model.predict = async (features, count) => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        return predict(features, count);
      };
      return TabularModel.serving(model);
    });
    const server = new InferenceServer({ model: slowModel, timeoutMs: 20, log: () => undefined });
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      await server.ready;
      expectError(await invoke(`http://127.0.0.1:${port}`, '[1, 2]'), 504, /longer than 0\.02 s \(SAGEMAKER_MODEL_SERVER_TIMEOUT\)/);
    } finally {
      await server.drain(1000);
    }
  });

  it('never answers a client mistake with a 5xx, and keeps serving', async () => {
    const bodies = ['', 'null', '{}', '"rows"', '[[]]', '[null]', '[[1e400, 1]]', '{"instances": {"x1": 1}}', '\u0000\u00ff', '[[[1, 2]]]', '['.repeat(5000)];
    for (const body of bodies) {
      // `constructor` and `__proto__` once found Object's own properties in the table of types: a 500.
      for (const contentType of ['application/json', 'text/csv', 'application/jsonlines', 'constructor', '__proto__']) {
        const response = await invoke(regression.url, body, { 'content-type': contentType });
        expect(response.status, `${contentType} ${JSON.stringify(body.slice(0, 20))}`).toBeGreaterThanOrEqual(400);
        expect(response.status, `${contentType} ${JSON.stringify(body.slice(0, 20))}`).toBeLessThan(500);
      }
    }
    expect((await fetch(`${regression.url}/ping`)).status).toBe(200);
  });
});
