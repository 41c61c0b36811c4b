/**
 * Any ONNX model, served as it is: Silero VAD v5 (a pretrained voice-activity detector that
 * nobody here made, shipped in the @ricky0123/vad-web npm package) is sealed by `modelstack
 * package`, served over real HTTP on loopback and invoked with named tensors, in this runtime's
 * schema, in KServe v2's, and through the AWS SDK's InvokeEndpoint. Its answers must tell
 * speech-like audio from silence, carrying its recurrent state from call to call; every bad
 * request is a 400 (or 415) that names the tensor and what it should be.
 */
import { createRequire } from 'node:module';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel, type ModelFolder } from '../../bin/cli/model-source.ts';
import { packageOnnxModel, type PackagedModel } from '../../bin/cli/package.ts';
import { invoke, startLocalServer, type LocalServer } from './fixtures/local-server.ts';
import { SAMPLE_RATE, silence, speechLike } from './fixtures/speech-like.ts';

const sileroV5 = path.join(path.dirname(createRequire(import.meta.url).resolve('@ricky0123/vad-web/package.json')), 'dist', 'silero_vad_v5.onnx');
const CHUNK = 512; // samples per call at 16 kHz, as Silero VAD v5 takes them

let root: string;
let packaged: PackagedModel;
let folder: ModelFolder;
let server: LocalServer;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'modelstack-package-test-'));
  packaged = await packageOnnxModel(sileroV5, { task: 'tensors', output: path.join(root, 'vad.tar.gz') });
  folder = await openModel(packaged.archive);
  server = await startLocalServer(folder.dir);
  await server.server.ready;
});

afterAll(async () => {
  await server?.close();
  await folder?.cleanup();
  await rm(root, { recursive: true, force: true });
});

interface NamedAnswer {
  outputs: Record<string, { shape: number[]; dtype: string; data: number[] }>;
}

/** Speech probability of each 32 ms chunk, one request per chunk, the state carried between them. */
async function speechProbabilities(signal: Float32Array): Promise<number[]> {
  let state = new Array<number>(2 * 128).fill(0);
  const probabilities: number[] = [];
  for (let i = 0; i + CHUNK <= signal.length; i += CHUNK) {
    const body = {
      inputs: {
        input: { shape: [1, CHUNK], dtype: 'float32', data: Array.from(signal.subarray(i, i + CHUNK)) },
        state: { shape: [2, 1, 128], dtype: 'float32', data: state },
        sr: { shape: [], dtype: 'int64', data: [SAMPLE_RATE] },
      },
    };
    const answer = await invoke(server.url, JSON.stringify(body));
    expect(answer.status, answer.text).toBe(200);
    const { outputs } = answer.json() as NamedAnswer;
    expect(outputs.output!.shape).toEqual([1, 1]);
    probabilities.push(outputs.output!.data[0]!);
    state = outputs.stateN!.data;
  }
  return probabilities;
}

const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

describe('modelstack package + serve: Silero VAD as it is', () => {
  it('records the tensors the file declares and seals it', () => {
    expect(packaged.description.name).toBe('silero_vad_v5');
    expect(packaged.description.inputs.map((t) => [t.name, t.dtype])).toEqual([['input', 'float32'], ['state', 'float32'], ['sr', 'int64']]);
    expect(packaged.description.outputs.map((t) => t.name)).toEqual(['output', 'stateN']);
    expect(packaged.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('hears speech in speech-like audio and none in silence', async () => {
    const speech = await speechProbabilities(speechLike(1.5));
    const quiet = await speechProbabilities(silence(1));
    expect(mean(speech)).toBeGreaterThan(0.8);
    expect(Math.max(...quiet)).toBeLessThan(0.2);
  });

  it('answers KServe v2 requests in KServe v2, only the outputs asked for, through the AWS SDK too', async () => {
    const body = {
      inputs: [
        { name: 'input', shape: [1, CHUNK], datatype: 'FP32', data: Array.from(speechLike(0.1).subarray(0, CHUNK)) },
        { name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: new Array(256).fill(0) },
        { name: 'sr', shape: [], datatype: 'INT64', data: [SAMPLE_RATE] },
      ],
      outputs: [{ name: 'output' }],
    };
    const client = new SageMakerRuntimeClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    try {
      const response = await client.send(new InvokeEndpointCommand({ EndpointName: 'vad', ContentType: 'application/json', Body: JSON.stringify(body) }));
      const answer = JSON.parse(new TextDecoder().decode(response.Body)) as { model_name: string; outputs: { name: string; shape: number[]; datatype: string; data: number[] }[] };
      expect(answer.model_name).toBe('silero_vad_v5');
      expect(answer.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([['output', 'FP32', [1, 1]]]);
      expect(answer.outputs[0]!.data[0]).toBeGreaterThanOrEqual(0);
    } finally {
      client.destroy();
    }
  });

  const valid = () => ({
    input: { shape: [1, CHUNK], dtype: 'float32', data: new Array(CHUNK).fill(0) },
    state: { shape: [2, 1, 128], dtype: 'float32', data: new Array(256).fill(0) },
    sr: { shape: [], dtype: 'int64', data: [SAMPLE_RATE] },
  });
  const badRequests: [string, unknown, RegExp][] = [
    ['an unknown tensor', { inputs: { ...valid(), inputz: valid().input } }, /no input named "inputz"; its inputs are "input" float32 \(\?, \?\), "state" float32 \(2, \?, 128\), "sr" int64 \(\)/],
    ['a missing tensor', { inputs: { input: valid().input, sr: valid().sr } }, /missing input "state" float32 \(2, \?, 128\)/],
    ['the wrong element type', { inputs: { ...valid(), sr: { shape: [], dtype: 'float32', data: [16000] } } }, /input "sr" is float32, but the model takes int64/],
    ['the wrong rank', { inputs: { ...valid(), state: { shape: [256], dtype: 'float32', data: new Array(256).fill(0) } } }, /input "state" has rank 1 \(\[256\]\), but the model takes rank 3/],
    ['the wrong fixed size', { inputs: { ...valid(), state: { shape: [2, 1, 64], dtype: 'float32', data: new Array(128).fill(0) } } }, /size 64 on axis 2, but the model takes 128 there/],
    ['data that does not fill the shape', { inputs: { ...valid(), input: { shape: [1, CHUNK], data: [1, 2, 3] } } }, /has 3 values in "data", but shape \[1,512\] needs 512/],
    ['a string among the numbers', { inputs: { ...valid(), sr: { shape: [], dtype: 'int64', data: ['16000'] } } }, /every value must be a finite whole number, but data\[0\] is "16000"/],
    ['a fraction for an integer', { inputs: { ...valid(), sr: { shape: [], data: [16000.5] } } }, /data\[0\] is 16000.5/],
    ['an unknown KServe datatype', { inputs: [{ name: 'sr', shape: [], datatype: 'FP8', data: [1] }] }, /datatype "FP8"; use one of FP32, FP64/],
    ['an unknown output', { inputs: Object.entries(valid()).map(([name, t]) => ({ name, shape: t.shape, datatype: t.dtype === 'int64' ? 'INT64' : 'FP32', data: t.data })), outputs: [{ name: 'probability' }] }, /no output named "probability"; its outputs are "output", "stateN"/],
    ['no inputs at all', { instances: [[1, 2]] }, /JSON object with "inputs"/],
  ];
  it.each(badRequests)('refuses %s with a 400 that says what is wrong', async (_what, body, message) => {
    const answer = await invoke(server.url, JSON.stringify(body));
    expect(answer.status, answer.text).toBe(400);
    expect((answer.json() as { message: string }).message).toMatch(message);
  });

  it('refuses CSV with a 415 and stays up', async () => {
    const answer = await invoke(server.url, '1,2,3\n', { 'content-type': 'text/csv' });
    expect(answer.status).toBe(415);
    expect((answer.json() as { message: string }).message).toMatch(/takes application\/json bodies of named tensors/);
    expect((await fetch(`${server.url}/ping`)).status).toBe(200);
  });

  it('refuses to package a file that is not an ONNX model, naming it', async () => {
    const notOnnx = path.join(root, 'notes.onnx');
    await writeFile(notOnnx, 'not a model');
    await expect(packageOnnxModel(notOnnx, { task: 'tensors', output: path.join(root, 'x.tar.gz') })).rejects.toThrow(/notes\.onnx is not an ONNX model this runtime can load/);
    await expect(packageOnnxModel(path.join(root, 'absent.onnx'), { task: 'tensors', output: path.join(root, 'y.tar.gz') })).rejects.toThrow(/cannot read .*absent\.onnx: no such file/);
  });
});
