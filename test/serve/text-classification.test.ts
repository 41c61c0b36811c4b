/**
 * A trained text classifier saved, loaded and served over real HTTP on loopback: the Hugging
 * Face inference schema ({"inputs": ...}, "parameters": {"top_k": ...}), this runtime's
 * {"instances": [...]}, JSON Lines, truncation of over-long inputs, the AWS SDK's InvokeEndpoint
 * on the runtime API path, and a 400 naming each bad request.
 */
import { rm } from 'node:fs/promises';
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimePaths } from '../../model-runtime/src/contract/paths.ts';
import { MAX_INPUTS } from '../../model-runtime/src/serve/text-classification-request.ts';
import { runTraining } from '../../model-runtime/src/train/run.ts';
import { topicJsonLines } from '../runtime/train/text-data.ts';
import { makeTree } from '../runtime/train/tree.ts';
import { invoke, startLocalServer, type LocalServer } from './fixtures/local-server.ts';

let paths: RuntimePaths;
let server: LocalServer;
let client: SageMakerRuntimeClient;

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  paths = await makeTree(
    { algorithm: 'text-classifier', vocab_size: '400', n_layer: '1', n_head: '2', n_embd: '32', context_length: '16', batch_size: '16', learning_rate: '0.003', epochs: '5' },
    { train: { 'docs.jsonl': topicJsonLines(360, 11) }, validation: { 'docs.jsonl': topicJsonLines(90, 12) } },
  );
  await runTraining(paths, { onEvent: () => undefined });
  server = await startLocalServer(paths.model);
  await server.server.ready;
  client = new SageMakerRuntimeClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await server?.close();
  if (paths) await rm(paths.root, { recursive: true, force: true });
});

interface Scored {
  readonly label: string;
  readonly score: number;
  readonly truncated?: boolean;
}

const post = (body: unknown, headers?: Record<string, string>) => invoke(server.url, typeof body === 'string' ? body : JSON.stringify(body), headers);

function expectBadRequest(response: { status: number; json: () => unknown }, message: RegExp): void {
  expect(response.status).toBe(400);
  expect(response.json()).toMatchObject({ code: 400, type: 'BadRequest', message: expect.stringMatching(message) });
}

describe('serving a text classifier', () => {
  it('answers {"inputs": "text"} as the Hugging Face pipeline does: [{"label", "score"}], top class first', async () => {
    const response = await post({ inputs: 'we saw a big storm today' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const answer = response.json() as Scored[];
    expect(answer).toHaveLength(1);
    expect(answer[0]!.label).toBe('weather');
    expect(answer[0]!.score).toBeGreaterThan(0.5);
    expect(answer[0]!.score).toBeLessThanOrEqual(1);
    expect(server.log.at(-1)).toMatchObject({ path: '/invocations', status: 200, rows: 1 });
  });

  it('answers a list with one top class per text, and every class with top_k null (or n)', async () => {
    const texts = ['the striker was really new', 'some soup and bread', 'it was very sunny'];
    const top1 = (await post({ inputs: texts })).json() as Scored[];
    expect(top1.map((s) => s.label)).toEqual(['sports', 'food', 'weather']);

    const all = (await post({ inputs: texts, parameters: { top_k: null } })).json() as Scored[][];
    expect(all).toHaveLength(3);
    all.forEach((classes, i) => {
      expect(classes.map((c) => c.label).sort()).toEqual(['food', 'sports', 'weather']);
      expect(classes[0]!.label).toBe(top1[i]!.label);
      expect(classes[0]!.score).toBe(top1[i]!.score);
      expect(classes.reduce((sum, c) => sum + c.score, 0)).toBeCloseTo(1, 5);
      expect(classes[0]!.score).toBeGreaterThanOrEqual(classes[1]!.score);
      expect(classes[1]!.score).toBeGreaterThanOrEqual(classes[2]!.score);
    });
    const two = (await post({ inputs: texts[0], parameters: { top_k: 2 } })).json() as Scored[];
    expect(two).toEqual(all[0]!.slice(0, 2));
    const many = (await post({ inputs: texts[0], parameters: { top_k: 50 } })).json() as Scored[];
    expect(many).toEqual(all[0]);
  });

  it('answers {"instances": [...]} (texts, or objects with the text column) as {"predictions": [[...], ...]}, and JSON Lines line by line', async () => {
    const response = await post({ instances: ['a new recipe for pasta', { text: 'the referee and the match' }] });
    const { predictions } = response.json() as { predictions: Scored[][] };
    expect(predictions.map((p) => p[0]!.label)).toEqual(['food', 'sports']);
    expect(predictions.every((p) => p.length === 1)).toBe(true);

    const lines = await post('"the forecast was cloudy"\n{"text": "cheese"}\n', { 'content-type': 'application/jsonlines' });
    expect(lines.status).toBe(200);
    expect(lines.headers.get('content-type')).toBe('application/jsonlines');
    const answers = lines.text.trim().split('\n').map((line) => JSON.parse(line) as Scored[]);
    expect(answers.map((a) => a[0]!.label)).toEqual(['weather', 'food']);
  });

  it('truncates an input longer than context_length, says so, and refuses it with truncation false', async () => {
    const long = `the storm ${'and the rain '.repeat(40)}`;
    const [truncated, short] = (await post({ inputs: [long, 'rain'], parameters: { top_k: null } })).json() as Scored[][];
    expect(truncated!.every((c) => c.truncated === true)).toBe(true);
    expect(truncated![0]!.label).toBe('weather');
    expect(short!.some((c) => 'truncated' in c)).toBe(false);
    expectBadRequest(await post({ inputs: long, parameters: { truncation: false } }), /text 0 is \d+ tokens long, over this model's context_length of 16/);
  });

  it('answers through the runtime API path with the AWS SDK, and a bad request as the typed ModelError', async () => {
    const response = await client.send(new InvokeEndpointCommand({ EndpointName: 'topics', ContentType: 'application/json', Body: JSON.stringify({ inputs: 'a league goal' }) }));
    expect(response.ContentType).toBe('application/json');
    expect(response.InvokedProductionVariant).toBe('AllTraffic');
    expect((JSON.parse(new TextDecoder().decode(response.Body)) as Scored[])[0]!.label).toBe('sports');

    const error = await client.send(new InvokeEndpointCommand({ EndpointName: 'topics', ContentType: 'application/json', Body: JSON.stringify({ inputs: [] }) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).OriginalStatusCode).toBe(400);
    expect((error as ModelError).OriginalMessage).toMatch(/inputs is empty; send at least one text/);
  });

  it('answers every bad request with a 400 that names the problem', async () => {
    expectBadRequest(await post({ inputs: 5 }), /"inputs" must be a string or an array of strings; got 5/);
    expectBadRequest(await post({ inputs: [] }), /inputs is empty/);
    expectBadRequest(await post({ inputs: ['fine', 7] }), /inputs\[1\] must be a string \(the text to classify\); got 7/);
    expectBadRequest(await post({ instances: [{ body: 'x' }] }), /instances\[0\] has no "text" key/);
    expectBadRequest(await post({ inputs: Array.from({ length: MAX_INPUTS + 1 }, () => 'x') }), new RegExp(`holds ${MAX_INPUTS + 1} texts; at most ${MAX_INPUTS}`));
    expectBadRequest(await post({ text: 'x' }), /unknown field "text"/);
    expectBadRequest(await post({}), /the body has no "inputs"/);
    expectBadRequest(await post(['x']), /the body must be a JSON object/);
    expectBadRequest(await post({ inputs: 'x', parameters: { top_k: 0 } }), /top_k must be a whole number >= 1, or null/);
    expectBadRequest(await post({ inputs: 'x', parameters: { temperature: 1 } }), /unknown parameter "temperature"/);
    expectBadRequest(await post('{"inputs": '), /body is not valid JSON/);
    const latin1 = await fetch(`${server.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0x22, 0x69, 0x6e, 0x70, 0x75, 0x74, 0x73, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]) });
    expect(latin1.status).toBe(400);
    expect(await latin1.json()).toMatchObject({ message: expect.stringMatching(/not valid UTF-8/) });

    const csv = await post('text\nhello\n', { 'content-type': 'text/csv' });
    expect(csv.status).toBe(415);
    expect(csv.json()).toMatchObject({ message: expect.stringMatching(/a text classifier reads application\/json/) });
    const accept = await post({ inputs: 'x' }, { 'content-type': 'application/json', accept: 'text/csv' });
    expect(accept.status).toBe(406);
    // Still serving after all that.
    expect((await post({ inputs: 'rain' })).status).toBe(200);
  });
});
