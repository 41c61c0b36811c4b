/**
 * The application client (modelstack/client) against a real local server on loopback: the AWS
 * SDK's InvokeEndpoint over HTTP, the runtime's real decoding, forward pass and errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointClient, EndpointError } from '../../lib/client/index.ts';
import { CLASSIFIER_LABELS, classifierProbabilities, regressionTruth } from '../serve/fixtures/onnx-models.ts';
import { fixtureArtifacts, startLocalServer, type FixtureArtifacts, type LocalServer } from '../serve/fixtures/local-server.ts';

let artifacts: FixtureArtifacts;
let regressionServer: LocalServer;
let classifierServer: LocalServer;
let regression: EndpointClient;
let classifier: EndpointClient;

beforeAll(async () => {
  artifacts = await fixtureArtifacts();
  regressionServer = await startLocalServer(artifacts.regression);
  classifierServer = await startLocalServer(artifacts.classifier);
  await Promise.all([regressionServer.server.ready, classifierServer.server.ready]);
  regression = new EndpointClient({ endpointName: 'local-regression', url: regressionServer.url });
  classifier = new EndpointClient({ endpointName: 'local-classifier', url: classifierServer.url });
});

afterAll(async () => {
  regression?.destroy();
  classifier?.destroy();
  await regressionServer?.close();
  await classifierServer?.close();
  await artifacts?.remove();
});

async function failure(promise: Promise<unknown>): Promise<EndpointError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(EndpointError);
  return error as EndpointError;
}

describe('EndpointClient', () => {
  it('sends rows as JSON and returns the regression values, one per row', async () => {
    const values = await regression.regress([[1, 2], [0.5, 0]]);
    expect(values).toHaveLength(2);
    expect(values[0]).toBeCloseTo(regressionTruth(1, 2), 4);
    expect(values[1]).toBeCloseTo(regressionTruth(0.5, 0), 4);
  });

  it('sends objects keyed by feature name as CSV with a header, in any key order', async () => {
    const values = await regression.regress([{ x2: 2, x1: 1 }, { x2: 0, x1: 0.5 }], { format: 'csv' });
    expect(values[0]).toBeCloseTo(regressionTruth(1, 2), 4);
    expect(values[1]).toBeCloseTo(regressionTruth(0.5, 0), 4);
  });

  it('returns a label with every class probability from a classifier', async () => {
    const [prediction] = await classifier.classify([{ petal_length: 1.4, petal_width: 0.2 }]);
    const expected = classifierProbabilities(1.4, 0.2);
    expect(Object.keys(prediction!.probabilities)).toEqual([...CLASSIFIER_LABELS]);
    expect(prediction!.label).toBe(CLASSIFIER_LABELS[expected.indexOf(Math.max(...expected))]);
    CLASSIFIER_LABELS.forEach((label, k) => expect(prediction!.probabilities[label]).toBeCloseTo(expected[k]!, 4));
  });

  it('returns the answering variant and the custom attributes', async () => {
    const result = await regression.invoke([[1, 2]], { customAttributes: 'request_id=7' });
    expect(result.variant).toBe('AllTraffic');
    expect(result.customAttributes).toBe('request_id=7');
  });

  it('turns the model refusing a request into a model error with the server\'s message and status', async () => {
    const error = await failure(regression.regress([[1, 2, 3]]));
    expect(error.kind).toBe('model');
    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(/instances\[0\]: has 3 values; expected rows of 2 features \[x1, x2\]/);
  });

  it('says which kind of model answered when the call asks for the other kind', async () => {
    const error = await failure(classifier.regress([[1.4, 0.2]]));
    expect(error.kind).toBe('response');
    expect(error.message).toMatch(/local-classifier does not serve a single-target regression model.*use classify\(\)/);
    expect((await failure(regression.classify([[1, 2]]))).message).toMatch(/does not serve a classifier/);
  });

  it('refuses rows it cannot send before calling the endpoint', async () => {
    expect((await failure(regression.predict([]))).message).toMatch(/no rows to predict/);
    const mixed = await failure(regression.predict([{ x1: 1, x2: 2 }, { x1: 1 }], { format: 'csv' }));
    expect(mixed.message).toMatch(/row 1 lacks x2: as CSV, every row must name the same features as row 0 \(x1, x2\)/);
    expect((await failure(regression.predict([[1, 2], { x1: 1, x2: 2 }], { format: 'csv' }))).message).toMatch(/row 1 is shaped unlike row 0/);
  });

  it('says nothing is listening when the local server is not running', async () => {
    const stopped = await startLocalServer(artifacts.regression);
    const url = stopped.url;
    await stopped.close();
    const client = new EndpointClient({ endpointName: 'gone', url });
    try {
      const error = await failure(client.regress([[1, 2]]));
      expect(error.kind).toBe('connection');
      expect(error.message).toMatch(new RegExp(`nothing is listening at ${url.replaceAll('.', '\\.')}; start it with \`modelstack serve`));
    } finally {
      client.destroy();
    }
  });

  it('refuses a URL without a scheme and a format it does not know, naming the prop', () => {
    expect(() => new EndpointClient({ endpointName: 'e', url: 'localhost:8080' })).toThrow(/url must be an http:\/\/ or https:\/\/ URL such as http:\/\/127\.0\.0\.1:8080, not 'localhost:8080'/);
    expect(() => new EndpointClient({ endpointName: 'e', url: 'http://127.0.0.1:1', format: 'xml' as 'json' })).toThrow(/format must be 'json' or 'csv', not "xml"/);
    expect(() => new EndpointClient({ endpointName: '' })).toThrow(/endpointName must name the endpoint/);
  });
});
