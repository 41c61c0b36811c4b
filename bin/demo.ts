/**
 * `npm run demo`: the whole product in one run, on this machine, offline.
 *
 *   1. data     the seed's example, y = 2x + 1 + noise, written as CSV to a temporary folder
 *   2. train    linear regression by gradient descent (the container's training code) -> model.tar.gz
 *   3. serve    the container's inference server on an ephemeral loopback port
 *   4. invoke   through the application client (lib/client/) over the AWS SDK's InvokeEndpoint,
 *               exactly as against a cloud endpoint
 *   5. stop     drain the server and remove the temporary folder
 *
 * model.tar.gz and its loss curve stay in .modelstack/demo/ to look at afterwards.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StdoutClosedError, stdoutClosed } from '../model-runtime/src/closed-stdout.ts';
import { loadServedModel } from '../model-runtime/src/serve/load-served-model.ts';
import { InferenceServer } from '../model-runtime/src/serve/server.ts';
import { EndpointClient } from '../lib/client/index.ts';
import { openModel, type ModelFolder } from './cli/model-source.ts';
import { trainModel } from './cli/train.ts';
import { createRandom } from '../model-runtime/src/data/random.ts';
import { formatMetricLine } from '../model-runtime/src/contract/metrics.ts';

const KEEP = path.resolve(import.meta.dirname, '..', '.modelstack', 'demo');
const ROWS = 1000;
const NOISE_STD = 0.5;
const QUERIES = [-4, -2.5, -1, 0, 0.5, 1, 2, 3.5, 5];

const truth = (x: number) => 2 * x + 1;
const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const started = performance.now();
  // `npm run demo | head`: once the reader is gone, stop at the next step and clean up (exit 141).
  const closed = stdoutClosed();
  const work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-demo-'));
  let server: InferenceServer | undefined;
  let model: ModelFolder | undefined;
  try {
    say('modelstack demo: y = 2x + 1 + noise -> train -> serve -> invoke through the AWS SDK\n');

    // 1. data
    const dataFile = path.join(work, 'train.csv');
    await writeFile(dataFile, linearData(ROWS, 42));
    say(`1. data    ${ROWS} rows of y = 2x + 1 + N(0, ${NOISE_STD}^2), x in [-5, 5] -> ${dataFile}`);

    // 2. train
    say('2. train   linear-regression, SGD on the mean squared error (metric lines as SageMaker reads them):');
    await mkdir(KEEP, { recursive: true });
    const trained = await trainModel(dataFile, {
      hyperparameters: { algorithm: 'linear-regression', epochs: '30', learning_rate: '0.05', batch_size: '32', seed: '1' },
      output: path.join(KEEP, 'model.tar.gz'),
      signal: closed,
      onEvent: (event) => {
        if (event.kind === 'epoch') say(`          ${formatMetricLine(event.metrics)}`);
        // After the last epoch, training reports the epoch it kept (best validation loss).
        if (event.kind === 'evaluation' && event.of === 'final') say(`    kept  ${formatMetricLine(event.metrics)}`);
      },
    });
    say(`          ${path.relative(process.cwd(), trained.archive)}  sha256 ${trained.sha256}`);
    say(`          model digest ${trained.result.manifest.digest} (MANIFEST.json)`);
    say(`          ${path.relative(process.cwd(), trained.lossCurve)}  train and validation loss per epoch`);

    // 3. serve
    closed.throwIfAborted();
    model = await openModel(trained.archive);
    server = new InferenceServer({ model: loadServedModel(model.dir, { threads: 1 }), log: () => undefined });
    const { port } = await server.listen(0, '127.0.0.1');
    await server.ready;
    const endpoint = `http://127.0.0.1:${port}`;
    const ping = await fetch(`${endpoint}/ping`);
    say(`3. serve   ${endpoint}  (GET /ping -> ${ping.status})`);

    // 4. invoke, with the same SDK call an application makes against a SageMaker endpoint
    closed.throwIfAborted();
    const client = new EndpointClient({ endpointName: 'demo', url: endpoint, format: 'csv' });
    const predictions = await client.regress(QUERIES.map((x) => [x])).finally(() => client.destroy());
    say(`4. invoke  EndpointClient.regress -> InvokeEndpoint (AWS SDK, text/csv) -> ${predictions.length} predictions`);
    say();
    say('       x   truth 2x+1   prediction    error');
    QUERIES.forEach((x, i) => {
      const predicted = predictions[i]!;
      say(`  ${fixed(x, 6)}   ${fixed(truth(x), 10)}   ${fixed(predicted, 10)}   ${fixed(predicted - truth(x), 6)}`);
    });
    const intercept = predictions[QUERIES.indexOf(0)]!;
    const slope = predictions[QUERIES.indexOf(1)]! - intercept;
    say();
    say(`  learned  y = ${slope.toFixed(3)} x + ${intercept.toFixed(3)}   (true: y = 2 x + 1)`);

    // 5. stop
    await server.drain(1000);
    server = undefined;
    await model.cleanup();
    model = undefined;
    say(`5. stop    drained and stopped; done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    // On a failure too: the server stops and the extracted model goes, or each run would leave one behind.
    await server?.drain(0);
    await model?.cleanup();
    await rm(work, { recursive: true, force: true });
  }
}

/** CSV with a header, label first (SageMaker's convention for CSV training data). */
function linearData(rows: number, seed: number): string {
  const random = createRandom(seed);
  const lines = ['y,x'];
  for (let i = 0; i < rows; i++) {
    const x = -5 + 10 * random();
    const noise = NOISE_STD * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    lines.push(`${(truth(x) + noise).toFixed(5)},${x.toFixed(5)}`);
  }
  return `${lines.join('\n')}\n`;
}

function fixed(value: number, width: number): string {
  return value.toFixed(3).padStart(width);
}

await main().catch((error: unknown) => {
  // The reader of stdout left: nothing to report, and the exit status is already 141.
  if (!(error instanceof StdoutClosedError)) throw error;
});
