/**
 * Image-serving benchmark: PNG bodies per second through /invocations at concurrency 16, for the
 * image classifier of bench/cnn/bench.ts (28x28 grayscale and 64x64 RGB inputs), each request
 * decoded by sharp, resized, run through model.onnx and answered as top-k JSON.
 *
 * The model is the benchmark CNN at its seeded initial weights (what it predicts does not change
 * how long it takes), saved as a real artifact and served by the real server in this process; the
 * load generator (autocannon) shares the machine's cores with it.
 *
 * Usage: npx tsx bench/cnn/serve.ts [--seconds N] [--write-results]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { Command } from 'commander';
import { MODEL_ONNX_FILE } from '../../model-runtime/src/artifact/files.ts';
import type { ImageClassifierDescription } from '../../model-runtime/src/artifact/model-description.ts';
import { saveArtifact } from '../../model-runtime/src/artifact/save.ts';
import { encodePng } from '../../model-runtime/src/data/image-decode.ts';
import { createRandom } from '../../model-runtime/src/data/random.ts';
import { ConvClassifier } from '../../model-runtime/src/models/conv-classifier.ts';
import { imageClassifierSpec } from '../../model-runtime/src/models/image-classifier.ts';
import { loadServedModel } from '../../model-runtime/src/serve/load-served-model.ts';
import { InferenceServer } from '../../model-runtime/src/serve/server.ts';
import { describeCpu } from '../machine.ts';
import { writeSection } from '../peer-process.ts';

const CONNECTIONS = 16;
const HEADING = '## Image serving';
const RESULTS_FILE = join(import.meta.dirname, '..', 'RESULTS.md');
const CASES = [
  { name: '28x28x1', size: 28, channels: 1 },
  { name: '64x64x3', size: 64, channels: 3 },
] as const;
const LABELS = Array.from({ length: 10 }, (_, i) => `class${i}`);

async function writeModel(dir: string, size: number, channels: number): Promise<void> {
  const mean = new Array<number>(channels).fill(0.5);
  const std = new Array<number>(channels).fill(0.25);
  const spec = imageClassifierSpec({ height: size, width: size, channels, channelMean: mean, channelStd: std, cnn: { widths: [32, 64], convsPerBlock: 1, kernelSize: 3, denseUnits: 128, classes: LABELS.length } });
  const optimizer = { name: 'sgd', learningRate: 0.01, momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, gradClip: 0, schedule: { kind: 'constant', warmupSteps: 0, totalSteps: 1 } } as const;
  const model = await ConvClassifier.create(spec, optimizer, 2024, { device: 'cpu', intraOpNumThreads: 1 });
  const onnx = model.exportInference();
  await model.release();
  const description: ImageClassifierDescription = {
    format: 'modelstack/1', algorithm: 'image-classifier', task: 'multiclass', labels: LABELS, topK: 5, hyperparameters: {}, metrics: {},
    versions: { modelstack: 'bench', onnxruntime: 'bench', node: process.versions.node },
    image: { height: size, width: size, channels, channelMean: mean, channelStd: std },
  };
  await saveArtifact(dir, { [MODEL_ONNX_FILE]: onnx }, description);
}

async function load(url: string, body: Buffer, seconds: number): Promise<{ rps: number; p50: number; p99: number; failures: number }> {
  const latencies: number[] = [];
  const result = await new Promise<Result>((resolve, reject) => {
    const instance = autocannon(
      { url, method: 'POST', headers: { 'content-type': 'image/png' }, body, connections: CONNECTIONS, duration: seconds },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode === 200) latencies.push(responseTime);
    });
  });
  latencies.sort((a, b) => a - b);
  const percentile = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
  return { rps: latencies.length / result.duration, p50: percentile(50), p99: percentile(99), failures: result.errors + result.timeouts + result.non2xx };
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--seconds <n>', 'seconds of load per case', (v) => Number.parseInt(v, 10), 10)
    .option('--write-results', `replace the "${HEADING.slice(3)}" section of bench/RESULTS.md`)
    .parse()
    .opts<{ seconds: number; writeResults?: boolean }>();
  const root = await mkdtemp(join(os.tmpdir(), 'modelstack-bench-images-'));
  const rows: string[] = [];
  const loadBefore = os.loadavg()[0]!;
  try {
    for (const c of CASES) {
      const dir = join(root, c.name);
      await writeModel(dir, c.size, c.channels);
      const random = createRandom(3);
      const png = Buffer.from(await encodePng(Array.from({ length: c.size * c.size * c.channels }, () => random() * 255), { height: c.size, width: c.size, channels: c.channels }));
      const server = new InferenceServer({ model: loadServedModel(dir, { threads: 1 }), log: () => undefined });
      const address = await server.listen(0, '127.0.0.1');
      await server.ready;
      const url = `http://127.0.0.1:${address.port}/invocations`;
      await load(url, png, 2); // warm-up
      const r = await load(url, png, options.seconds);
      await server.drain(1000);
      console.log(`${c.name}: ${r.rps.toFixed(0)} images/s, p50 ${r.p50} ms, p99 ${r.p99} ms, failures ${r.failures}`);
      rows.push(`| ${c.name} | ${png.length} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.failures} |`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const section = [
    HEADING,
    '',
    `PNG bodies (random pixels) POSTed to /invocations by autocannon at concurrency ${CONNECTIONS} for ${options.seconds} s per case, one`,
    'server process with one ONNX Runtime thread, in the same process as the load generator; each request is decoded and',
    "resized by sharp, run through the benchmark CNN's model.onnx (conv 32, 64; dense 128; 10 classes) and answered as",
    `top-5 JSON. Machine: ${describeCpu()} shared with other agents; load average ${loadBefore.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end.`,
    '',
    '| input | PNG bytes | images/s | p50 ms | p99 ms | failures |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'Command: `npx tsx bench/cnn/serve.ts --write-results`.',
  ].join('\n');
  console.log(`\n${section}`);
  if (options.writeResults === true) writeSection(RESULTS_FILE, HEADING, section);
}

await main();
