/**
 * Runs the built image's own filesystem as SageMaker runs the container, without a Docker
 * daemon: `train` on a SageMaker-shaped /opt/ml, then `serve` with two workers: /ping, an
 * /invocations answer checked against the data's truth, and a SIGTERM that drains a request
 * in flight. Each command runs chrooted into the image with the image's own environment.
 *
 *   tsx test/image/check-image.ts ROOTFS IMAGE_ENV_JSON
 *
 * Exits non-zero, naming the step, when anything differs from what SageMaker would accept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';

const [root, envJson] = process.argv.slice(2);
if (!root || !envJson) throw new Error('usage: check-image.ts ROOTFS IMAGE_ENV_JSON');
const imageEnv = Object.fromEntries((JSON.parse(envJson) as string[]).map((pair) => {
  const at = pair.indexOf('=');
  return [pair.slice(0, at), pair.slice(at + 1)];
}));
const optMl = path.join(root, 'opt', 'ml');

/** The data's truth: y = 3x - 2, with a little noise in the training rows. */
const truth = (x: number) => 3 * x - 2;

function step(name: string): void {
  process.stdout.write(`image check: ${name}\n`);
}

function fail(message: string): never {
  process.stderr.write(`image check FAILED: ${message}\n`);
  process.exit(1);
}

/** `chroot ROOT model-runtime <command>` with the image's environment plus `extra`, as root or as `user`. */
function runInImage(command: 'train' | 'serve', extra: Record<string, string> = {}, user?: string): ChildProcess {
  const chrootArgs = user === undefined ? [root!] : [`--userspec=${user}:${user}`, root!];
  return spawn('chroot', [...chrootArgs, '/usr/local/bin/model-runtime', command], {
    env: { ...imageEnv, HOME: user === undefined ? '/root' : '/nonexistent', ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collect(child: ChildProcess): () => string {
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return () => output;
}

function exited(child: ChildProcess): Promise<number | string> {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function layOutTrainingJob(): Promise<void> {
  await rm(optMl, { recursive: true, force: true });
  await mkdir(path.join(optMl, 'input', 'config'), { recursive: true });
  await mkdir(path.join(optMl, 'input', 'data', 'train'), { recursive: true });
  for (const dir of ['model', 'output', 'checkpoints']) await mkdir(path.join(optMl, dir), { recursive: true });
  const config = path.join(optMl, 'input', 'config');
  // SageMaker writes every hyperparameter as a string.
  await writeFile(path.join(config, 'hyperparameters.json'), JSON.stringify({ algorithm: 'linear-regression', epochs: '40', learning_rate: '0.05' }));
  await writeFile(path.join(config, 'inputdataconfig.json'), JSON.stringify({ train: { ContentType: 'text/csv', TrainingInputMode: 'File', S3DistributionType: 'FullyReplicated' } }));
  await writeFile(path.join(config, 'resourceconfig.json'), JSON.stringify({ current_host: 'algo-1', hosts: ['algo-1'], network_interface_name: 'eth0' }));
  const lines = ['y,x'];
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 600; i++) {
    const x = -4 + 8 * random();
    lines.push(`${(truth(x) + 0.05 * (random() - 0.5)).toFixed(5)},${x.toFixed(5)}`);
  }
  await writeFile(path.join(optMl, 'input', 'data', 'train', 'train.csv'), `${lines.join('\n')}\n`);
}

async function trainUnprivileged(): Promise<void> {
  step('train as the unprivileged modelstack user on a root-owned /opt/ml is refused up front');
  await layOutTrainingJob();
  const child = runInImage('train', {}, 'modelstack');
  const output = collect(child);
  const code = await exited(child);
  if (code !== 1) fail(`train as modelstack exited ${code}, not 1:\n${output()}`);
  if (!/model\/ \(\/opt\/ml\/model\) is not writable by modelstack/.test(output())) fail(`train as modelstack did not name the unwritable folder:\n${output()}`);
  if (/epoch=/.test(output())) fail(`train as modelstack trained before failing:\n${output()}`);
  if (/\n\s+at /.test(output())) fail(`train as modelstack printed a stack trace:\n${output()}`);
  step('refused with the folder named, no training, no stack trace');
}

async function train(): Promise<void> {
  step('train on a SageMaker-shaped /opt/ml');
  await layOutTrainingJob();
  const started = performance.now();
  const child = runInImage('train');
  const output = collect(child);
  const code = await exited(child);
  if (code !== 0) {
    const failure = await readFile(path.join(optMl, 'output', 'failure'), 'utf8').catch(() => '(no output/failure)');
    fail(`train exited ${code}\n${output()}\noutput/failure: ${failure}`);
  }
  if (!/train_loss=\S+/.test(output())) fail(`train printed no train_loss metric line:\n${output()}`);
  for (const file of ['model.onnx', 'model.json', 'MANIFEST.json']) {
    await stat(path.join(optMl, 'model', file)).catch(() => fail(`train wrote no model/${file}`));
  }
  step(`trained in ${((performance.now() - started) / 1000).toFixed(1)} s; model/ has model.onnx, model.json, MANIFEST.json`);
}

async function serve(): Promise<void> {
  step('serve with 2 workers');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = runInImage('serve', { SAGEMAKER_BIND_TO_PORT: String(port), SAGEMAKER_MODEL_SERVER_WORKERS: '2' });
  const output = collect(child);
  const code = exited(child);
  let coldStart: number | undefined;
  while (coldStart === undefined) {
    if (performance.now() - started > 60_000) fail(`no /ping 200 within 60 s:\n${output()}`);
    const status = await fetch(`${base}/ping`).then((r) => r.status, () => 0);
    if (status === 200) coldStart = performance.now() - started;
    else await new Promise((resolve) => setTimeout(resolve, 25));
  }
  step(`cold start to the first /ping 200: ${(coldStart / 1000).toFixed(2)} s`);

  const xs = [-3, 0, 1.5, 4];
  const response = await fetch(`${base}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ instances: xs.map((x) => [x]) }),
  });
  const text = await response.text();
  if (response.status !== 200) fail(`/invocations answered ${response.status}: ${text}`);
  const { predictions } = JSON.parse(text) as { predictions: number[] };
  xs.forEach((x, i) => {
    if (!(Math.abs(predictions[i]! - truth(x)) < 0.1)) fail(`/invocations predicted ${predictions[i]} for x=${x}; the truth is ${truth(x)}`);
  });
  step(`/invocations ${JSON.stringify(predictions)} against the truth ${JSON.stringify(xs.map(truth))}`);

  // A request in flight when SIGTERM arrives is still answered, then the server exits 0.
  const inFlight = fetch(`${base}/invocations`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '1\n2\n' });
  await new Promise((resolve) => setTimeout(resolve, 5));
  child.kill('SIGTERM');
  const drained = await inFlight.then((r) => r.status, (error: Error) => error.message);
  const exitCode = await code;
  if (drained !== 200) fail(`the request in flight at SIGTERM got ${drained}`);
  if (exitCode !== 0) fail(`serve exited ${exitCode} after SIGTERM:\n${output()}`);
  step('SIGTERM: the request in flight answered 200, serve exited 0');
}

await trainUnprivileged();
await train();
await serve();
