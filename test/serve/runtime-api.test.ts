import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient, ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { regressionTruth } from './fixtures/onnx-models.ts';
import { fixtureArtifacts, startLocalServer, type FixtureArtifacts, type LocalServer } from './fixtures/local-server.ts';

let artifacts: FixtureArtifacts;
let server: LocalServer;
let client: SageMakerRuntimeClient;

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  artifacts = await fixtureArtifacts();
  server = await startLocalServer(artifacts.regression);
  await server.server.ready;
  // Exactly what a user writes to point the SDK at local mode: endpoint, any region, any credentials.
  client = new SageMakerRuntimeClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
  await artifacts?.remove();
});

const decode = (body: Uint8Array | undefined) => new TextDecoder().decode(body);

describe('the AWS SDK InvokeEndpoint against the local server', () => {
  it('returns the body with ContentType, InvokedProductionVariant and CustomAttributes', async () => {
    const response = await client.send(new InvokeEndpointCommand({
      EndpointName: 'local-regression',
      ContentType: 'application/json',
      Accept: 'application/json',
      CustomAttributes: 'request_id=42',
      Body: JSON.stringify({ instances: [[1, 2], [0.5, 0]] }),
    }));
    expect(response.$metadata.httpStatusCode).toBe(200);
    expect(response.ContentType).toBe('application/json');
    expect(response.InvokedProductionVariant).toBe('AllTraffic');
    expect(response.CustomAttributes).toBe('request_id=42');
    expect(JSON.parse(decode(response.Body))).toEqual({ predictions: [regressionTruth(1, 2), regressionTruth(0.5, 0)] });
    expect(server.log.at(-1)).toMatchObject({ path: '/endpoints/local-regression/invocations', status: 200, rows: 2 });
  });

  it('speaks CSV both ways when asked', async () => {
    const response = await client.send(new InvokeEndpointCommand({
      EndpointName: 'local-regression',
      ContentType: 'text/csv',
      Accept: 'text/csv',
      Body: '1,2\n3,4\n',
    }));
    expect(response.ContentType).toBe('text/csv');
    expect(decode(response.Body)).toBe(`${regressionTruth(1, 2)}\n${regressionTruth(3, 4)}\n`);
  });

  it('surfaces a request the model rejects as the typed ModelError, with the original status and message', async () => {
    const error = await client
      .send(new InvokeEndpointCommand({ EndpointName: 'local-regression', ContentType: 'application/json', Body: '[[1, 2, 3]]' }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelError);
    const modelError = error as ModelError;
    expect(modelError.$metadata.httpStatusCode).toBe(424);
    expect(modelError.OriginalStatusCode).toBe(400);
    expect(modelError.message).toMatch(/Received client error \(400\) from primary/);
    expect(JSON.parse(modelError.OriginalMessage!)).toMatchObject({ code: 400, message: expect.stringContaining('expected rows of 2 features [x1, x2]') });
    // The log line carries the status the SDK received, not the container's 400.
    expect(server.log.at(-1)).toMatchObject({ path: '/endpoints/local-regression/invocations', status: 424, error: expect.stringContaining('expected rows of 2 features') });
  });

  it('surfaces an unsupported content type as ModelError with OriginalStatusCode 415', async () => {
    const error = await client
      .send(new InvokeEndpointCommand({ EndpointName: 'local-regression', ContentType: 'application/x-protobuf', Body: 'x' }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).OriginalStatusCode).toBe(415);
  });

  it('surfaces a body over the payload limit as ValidationError, as SageMaker\'s front door does', async () => {
    const error = await client
      .send(new InvokeEndpointCommand({ EndpointName: 'local-regression', ContentType: 'text/csv', Body: '1,2\n'.repeat(2 * 1024 * 1024) }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toMatch(/limit is 6291456 bytes/);
    expect(server.log.at(-1)).toMatchObject({ status: 413 });
  });
});
