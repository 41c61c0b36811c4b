/**
 * The serving bench's ceilings: a bare node:http server that reads each request to its end and
 * answers a fixed body with the same headers modelstack sends (content-type, content-length),
 * so the only difference from `modelstack serve` is the work modelstack does per request
 * (routing, decoding, the forward pass, encoding, the log line).
 *
 * Given a model, it also runs that model once per request (one ONNX Runtime session run on a
 * fixed single row, 1 thread, through onnxruntime-node's public `run`) before answering: the
 * floor for any Node server that runs this model per request, so what modelstack adds above
 * ONNX Runtime itself can be read apart from what ONNX Runtime costs.
 *
 *   node --import tsx bench/serve/bare-server.ts PORT BODY_FILE [MODEL_ONNX]
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import * as ort from 'onnxruntime-node';

const [port, bodyFile, modelFile] = process.argv.slice(2);
if (port === undefined || bodyFile === undefined) throw new Error('usage: bare-server.ts PORT BODY_FILE [MODEL_ONNX]');
const body = readFileSync(bodyFile);
const headers = { 'content-type': 'application/json', 'content-length': body.length };

process.env.ORT_DISABLE_TELEMETRY ??= '1';
const session = modelFile === undefined
  ? undefined
  : await ort.InferenceSession.create(readFileSync(modelFile), { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
const input = session?.inputNames[0] ?? '';
const inputMetadata = session?.inputMetadata[0];
const width = inputMetadata !== undefined && inputMetadata.isTensor ? Number(inputMetadata.shape.at(-1)) : 0;
const row = new Float32Array(width).fill(0.5);

http
  .createServer((request, response) => {
    request.on('data', () => undefined);
    request.on('end', () => {
      const answer = () => {
        response.writeHead(200, headers);
        response.end(body);
      };
      if (session === undefined) answer();
      else void session.run({ [input]: new ort.Tensor('float32', row, [1, width]) }).then(answer);
    });
  })
  .listen(Number(port), '127.0.0.1');
