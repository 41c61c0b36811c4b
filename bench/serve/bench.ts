/**
 * Serving bench: the same MLP served by this runtime (`modelstack serve`) and by the peer that
 * SageMaker's bring-your-own-container examples build (Flask under gunicorn, PyTorch), with the
 * same weights, on the same cores with the same worker count, driven by autocannon with
 * single-row JSON requests at concurrency 1 and 64. Beside them, on the same cores, a bare
 * node:http server answering modelstack's response as fixed bytes (bare-server.ts): the ceiling
 * for any server on node:http, so modelstack's throughput as a fraction of it says how much its
 * own per-request work costs. Writes the "Serving" section of bench/RESULTS.md.
 *
 *   npm run bench:serve -- [--duration 10] [--rounds 3] [--cores 0] [--load-cores 1] [--workers 1] [--skip-peer] [--baseline DIR]
 *
 * --skip-peer measures modelstack against bare node:http only (no Python peer to install).
 * --baseline DIR also serves the model with the modelstack checkout in DIR (an earlier commit,
 * `git worktree add DIR <commit>`, with node_modules), in the same run: before and after a change.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { saveArtifact } from '../../model-runtime/src/artifact/save.ts';
import { describeModel, denseNetworkOnnx, type DenseLayer } from '../../test/serve/fixtures/onnx-models.ts';
import { createRandom } from '../../model-runtime/src/data/random.ts';
import { peerEnvironment } from '../peer-env.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const OUT = path.join(REPO, 'bench', 'out', 'serve');
const RESULTS = path.join(REPO, 'bench', 'RESULTS.md');

// The model: an MLP over 32 features, two hidden layers of 256 (ReLU), 10 classes (softmax).
const FEATURES = 32;
const HIDDEN = [256, 256];
const CLASSES = 10;

// The servers get every core but the last, the load generator the last one, so autocannon never
// takes CPU from the server it measures (on one core, everything shares it).
const CORES = os.availableParallelism();
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    cores: { type: 'string', default: CORES > 1 ? (CORES > 2 ? `0-${CORES - 2}` : '0') : '0' },
    'load-cores': { type: 'string', default: String(CORES - 1) },
    workers: { type: 'string', default: String(Math.max(1, CORES - 1)) },
    rounds: { type: 'string', default: '3' },
    'skip-peer': { type: 'boolean', default: false },
    baseline: { type: 'string' },
  },
});
const skipPeer = args['skip-peer'];
const baseline = args.baseline === undefined ? undefined : path.resolve(args.baseline);
const duration = Number(args.duration);
const workers = Number(args.workers);
const rounds = Number(args.rounds);
const cores = args.cores;
const loadCores = args['load-cores'];

interface Measurement {
  readonly server: string;
  readonly connections: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly failures: number;
}

const MODELSTACK = 'modelstack (Node, ONNX Runtime)';
const BARE = 'bare node:http (fixed body)';
const BARE_ORT = 'bare node:http + one ONNX Runtime run';
const BASELINE = `modelstack at ${baseline === undefined ? '' : path.basename(baseline)} (--baseline)`;
const PEER = 'peer (nginx + gunicorn + Flask, PyTorch)';

async function main(): Promise<void> {
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  const { modelDir, weightsFile } = await writeModel();

  const oursPort = 18601;
  const peerPort = 18602;
  const barePort = 18603;
  const baselinePort = 18604;
  const bareOrtPort = 18605;
  const servers = [
    startServer('modelstack', ['node', path.join(REPO, 'bin', 'modelstack.js'), 'serve', modelDir, '--port', String(oursPort), '--workers', String(workers)], {}),
  ];
  try {
    const targets = [{ name: MODELSTACK, url: `http://127.0.0.1:${oursPort}` }];
    const body = JSON.stringify({ instances: [sampleRow(1)] });
    await waitForPing(targets[0]!.url);
    // The bare server answers modelstack's own response, byte for byte: same size, same content type.
    const bareBody = path.join(OUT, 'bare-body.json');
    await writeFile(bareBody, await (await fetch(`${targets[0]!.url}/invocations`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })).text());
    servers.push(startServer('bare', ['node', '--import', import.meta.resolve('tsx'), path.join(import.meta.dirname, 'bare-server.ts'), String(barePort), bareBody], {}));
    targets.push({ name: BARE, url: `http://127.0.0.1:${barePort}` });
    servers.push(startServer('bare-ort', ['node', '--import', import.meta.resolve('tsx'), path.join(import.meta.dirname, 'bare-server.ts'), String(bareOrtPort), bareBody, path.join(modelDir, 'model.onnx')], {}));
    targets.push({ name: BARE_ORT, url: `http://127.0.0.1:${bareOrtPort}` });
    if (baseline !== undefined) {
      servers.push(startServer('baseline', ['node', path.join(baseline, 'bin', 'modelstack.js'), 'serve', modelDir, '--port', String(baselinePort), '--workers', String(workers)], {}));
      targets.push({ name: BASELINE, url: `http://127.0.0.1:${baselinePort}` });
    }
    if (!skipPeer) servers.push(...await startPeer(weightsFile, peerPort));
    if (!skipPeer) targets.push({ name: PEER, url: `http://127.0.0.1:${peerPort}` });
    await Promise.all(targets.map((target) => waitForPing(target.url)));
    if (!skipPeer) await checkSameAnswers([targets[0]!.url, targets.find((target) => target.name === PEER)!.url], body);

    const loadBefore = os.loadavg()[0]!;
    const measurements: Measurement[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const connections of [1, 64]) {
        // Alternate the order of the servers, so drift on a shared machine hits them all alike.
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const target of order) {
          await load(target.url, body, connections, 2); // warm-up
          const result = await load(target.url, body, connections, duration);
          const measurement = { server: target.name, connections, rps: result.rps, p50: result.p50, p99: result.p99, failures: result.failures };
          measurements.push(measurement);
          console.log(JSON.stringify(measurement));
        }
      }
    }
    const section = report(measurements, targets.map((target) => target.name), [loadBefore, os.loadavg()[0]!]);
    console.log(`\n${section}`);
    await writeSection(section);
  } finally {
    for (const server of servers) server.kill('SIGTERM');
  }
}

/** The peer as the BYOC example's `serve` script starts it: gunicorn sync workers on a unix socket, nginx in front. */
async function startPeer(weightsFile: string, port: number): Promise<ChildProcess[]> {
  const socket = path.join(OUT, 'gunicorn.sock');
  const nginxConf = path.join(OUT, 'nginx.conf');
  const template = await readFile(path.join(import.meta.dirname, 'peer-nginx.conf'), 'utf8');
  await writeFile(nginxConf, template.replaceAll('@OUT@', OUT).replaceAll('@SOCKET@', socket).replaceAll('@PORT@', String(port)));
  return [
    startServer('gunicorn', ['/usr/bin/gunicorn', '-k', 'sync', '-w', String(workers), '-b', `unix:${socket}`, '--timeout', '60', '--chdir', import.meta.dirname, 'peer_app:app'], {
      MODEL_WEIGHTS: weightsFile,
      TORCH_THREADS: '1',
    }),
    startServer('nginx', ['/usr/sbin/nginx', '-c', nginxConf, '-e', path.join(OUT, 'nginx-error.log')], {}),
  ];
}

/** Seeded He-initialised weights, saved as a modelstack artifact and as JSON for the peer. */
async function writeModel(): Promise<{ modelDir: string; weightsFile: string }> {
  const random = createRandom(7);
  const sizes = [FEATURES, ...HIDDEN, CLASSES];
  const layers: DenseLayer[] = sizes.slice(1).map((out, index) => {
    const inputs = sizes[index]!;
    const scale = Math.sqrt(2 / inputs);
    return {
      weights: Array.from({ length: inputs }, () => Array.from({ length: out }, () => Math.fround(gaussian(random) * scale))),
      bias: Array.from({ length: out }, () => Math.fround(gaussian(random) * 0.01)),
    };
  });
  const labels = Array.from({ length: CLASSES }, (_, k) => `class_${k}`);
  const modelDir = path.join(OUT, 'model');
  await saveArtifact(modelDir, { 'model.onnx': denseNetworkOnnx(layers, true) }, describeModel({
    algorithm: 'mlp',
    task: 'multiclass',
    features: Array.from({ length: FEATURES }, (_, f) => `f${f}`),
    targets: ['label'],
    labels,
  }));
  const weightsFile = path.join(OUT, 'weights.json');
  await writeFile(weightsFile, JSON.stringify({ layers, labels }));
  return { modelDir, weightsFile };
}

function startServer(name: string, command: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  // Both servers pinned to the same cores: `taskset -c CORES <server>`. Both get the peer's environment
  // (OpenBLAS left to pick its own kernel; ONNX Runtime does not use OpenBLAS, so modelstack is unaffected).
  const log = openSync(path.join(OUT, `${name}.log`), 'w');
  const child = spawn('taskset', ['-c', cores, ...command], {
    cwd: REPO,
    env: peerEnvironment({ ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }),
    // Server logs (modelstack's per-request JSON lines included) go straight to a file, as nginx's
    // access log does: relaying them through this process would put a third process, woken per
    // log write and pinned to no core, on the cores being measured, and only one side logs to stdout.
    stdio: ['ignore', log, log],
  });
  closeSync(log); // the child holds its own copy
  return child;
}

async function waitForPing(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const status = await fetch(`${url}/ping`).then((response) => response.status, () => 0);
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url}/ping did not answer 200 within 60 s; see ${OUT}/*.log`);
}

/** Same weights must mean same answers: compare the probabilities of both servers for one row. */
async function checkSameAnswers(urls: readonly string[], body: string): Promise<void> {
  type Answer = { predictions: { label: string; probabilities: Record<string, number> }[] };
  const answers = await Promise.all(urls.map(async (url) => (await (await fetch(`${url}/invocations`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })).json()) as Answer));
  const [ours, peer] = answers.map((answer) => answer.predictions[0]!);
  const difference = Math.max(...Object.keys(ours!.probabilities).map((label) => Math.abs(ours!.probabilities[label]! - peer!.probabilities[label]!)));
  if (ours!.label !== peer!.label || !(difference < 1e-5)) {
    throw new Error(`the two servers disagree (labels ${ours!.label} / ${peer!.label}, max probability difference ${difference}); the bench would compare different models`);
  }
  console.log(`same answers: label ${ours!.label}, max probability difference ${difference.toExponential(2)}`);
}

/** One autocannon run in a child process pinned to the load generator's cores (load.ts). */
async function load(url: string, body: string, connections: number, seconds: number): Promise<{ rps: number; p50: number; p99: number; failures: number }> {
  const { stdout } = await promisify(execFile)(
    'taskset',
    ['-c', loadCores, process.execPath, '--import', import.meta.resolve('tsx'), path.join(import.meta.dirname, 'load.ts'), `${url}/invocations`, body, String(connections), String(seconds)],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { rps: number; p50: number; p99: number; failures: number };
}

function report(measurements: readonly Measurement[], names: readonly string[], loadAverage: readonly [number, number]): string {
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const cells = (server: string, connections: number) => measurements.filter((m) => m.server === server && m.connections === connections);
  const summary = (server: string, connections: number) => {
    const runs = cells(server, connections);
    return { rps: median(runs.map((m) => m.rps)), p50: median(runs.map((m) => m.p50)), p99: median(runs.map((m) => m.p99)), failures: runs.reduce((total, m) => total + m.failures, 0) };
  };
  // Each round measures the servers back to back, so a round's ratio is the fair comparison on a
  // machine whose load drifts; the tables show the median over rounds and the spread (min-max).
  const perRound = (connections: number, ratio: (ours: Measurement, other: Measurement) => number, other: string, ours = MODELSTACK) =>
    Array.from({ length: rounds }, (_, round) => ratio(cells(ours, connections)[round]!, cells(other, connections)[round]!));
  const spread = (values: readonly number[], digits: number) => `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;

  const rows: string[] = [];
  const bareRows: string[] = [];
  const peerRows: string[] = [];
  const floorRows: string[] = [];
  for (const connections of [1, 64]) {
    for (const name of names) {
      const s = summary(name, connections);
      rows.push(`| ${connections} | ${name} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${s.failures} |`);
    }
    for (const server of names.filter((name) => name === MODELSTACK || name === BASELINE || name === BARE_ORT)) {
      const fractions = perRound(connections, (ours, bare) => ours.rps / bare.rps, BARE, server);
      const ours = cells(server, connections).map((m) => m.p99.toFixed(2)).join(', ');
      const bare = cells(BARE, connections).map((m) => m.p99.toFixed(2)).join(', ');
      const label = server === MODELSTACK ? 'modelstack' : server;
      bareRows.push(`| ${connections} | ${label} | ${median([...fractions]).toFixed(2)} | ${spread(fractions, 2)} (rounds: ${fractions.map((f) => f.toFixed(2)).join(', ')}) | ${ours} | ${bare} |`);
    }
    const overFloor = perRound(connections, (ours, floor) => ours.rps / floor.rps, BARE_ORT);
    floorRows.push(`| ${connections} | ${median([...overFloor]).toFixed(2)} | ${spread(overFloor, 2)} (rounds: ${overFloor.map((f) => f.toFixed(2)).join(', ')}) |`);
    if (names.includes(PEER)) {
      const pairs = perRound(connections, (m, peer) => m.rps / peer.rps, PEER);
      const p99s = perRound(connections, (m, peer) => peer.p99 / m.p99, PEER);
      peerRows.push(`| ${connections} | ${median([...pairs]).toFixed(1)}x (rounds: ${pairs.map((r) => `${r.toFixed(1)}x`).join(', ')}) | ${median(p99s).toFixed(1)}x lower |`);
    }
  }
  const peerText = names.includes(PEER)
    ? [
        'Against the peer SageMaker\'s bring-your-own-container examples build (scikit_bring_your_own: nginx in front of',
        'gunicorn sync workers on a unix socket, Flask app, here with the model in PyTorch 1.13 + OpenBLAS; same weights,',
        'answers checked equal to 1e-5 before measuring; the peer runs without the machine-wide `OPENBLAS_CORETYPE`',
        'override, bench/peer-env.ts), median over rounds of each round\'s back-to-back pair:',
        '',
        '| concurrency | throughput, modelstack / peer | p99, modelstack vs peer |',
        '|---|---|---|',
        ...peerRows,
        '',
      ]
    : ['This run left out the Python peer (`--skip-peer`).', ''];
  return [
    '## Serving',
    '',
    `The same MLP (${[FEATURES, ...HIDDEN, CLASSES].join('-')}, ReLU, softmax) served by \`modelstack serve\` (Node 20, node:http + ONNX Runtime 1.30`,
    'CPU, dynamic batching, one JSON log line per request straight to a file) and, as the ceiling, by a bare node:http server',
    '(bench/serve/bare-server.ts) that reads each request and answers modelstack\'s own response as fixed bytes',
    `(content-type, content-length), in the same run.${names.includes(PEER) ? ' And by the Python peer below.' : ''} All pinned to the same cores (\`taskset\`) with`,
    'the same worker count, 1 ONNX Runtime / torch thread per worker.',
    'autocannon (pinned to a core of its own) sends the same single-row JSON request (`{"instances": [[32 floats]]}`) over',
    `keep-alive connections, after a 2 s warm-up, for ${duration} s per cell, ${rounds} round(s) interleaved (median shown);`,
    'latency percentiles from every response time autocannon reports (its own histogram rounds to 1 ms).',
    '',
    `Machine: ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), shared with other work (1-minute load average ${loadAverage[0].toFixed(1)} before, ${loadAverage[1].toFixed(1)} after); servers on cores ${cores} with ${workers} worker(s) each, autocannon on core(s) ${loadCores}.`,
    '',
    '| concurrency | server | requests/s (200s) | p50 ms | p99 ms | failed |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'modelstack\'s throughput as a fraction of bare node:http, per round (each round measures both back to back):',
    '',
    '| concurrency | server | throughput / bare node:http, median | spread (min-max) | its p99 ms, per round | bare p99 ms, per round |',
    '|---|---|---|---|---|---|',
    ...bareRows,
    '',
    `The floor for any Node server that runs this model once per request is the \`${BARE_ORT}\` row: the bare`,
    'server plus one onnxruntime-node session run (1 thread, one row) before it answers. modelstack as a fraction of that floor:',
    '',
    '| concurrency | throughput / (bare node:http + one ONNX Runtime run), median | spread (min-max) |',
    '|---|---|---|',
    ...floorRows,
    '',
    ...peerText,
    'Command:',
    '',
    '```bash',
    `npm run bench:serve -- --duration ${duration} --rounds ${rounds} --cores ${cores} --load-cores ${loadCores} --workers ${workers}${skipPeer ? ' --skip-peer' : ''}${baseline === undefined ? '' : ` --baseline ${path.relative(REPO, baseline) || '.'}`}`,
    '```',
    '',
    `Recorded ${new Date().toISOString().slice(0, 10)}. bench/serve/run.sh installs the peer from Debian packages (python3-torch, libopenblas0-pthread, python3-flask, gunicorn, nginx-light) unless \`--skip-peer\` is given.`,
    '',
  ].join('\n');
}

/** Replaces this bench's section of bench/RESULTS.md (other sections belong to other benches). */
async function writeSection(section: string): Promise<void> {
  const existing = await readFile(RESULTS, 'utf8').catch(() => '# Benchmarks\n');
  const start = existing.indexOf('\n## Serving\n');
  let next: string;
  if (start === -1) {
    next = `${existing.trimEnd()}\n\n${section}`;
  } else {
    const end = existing.indexOf('\n## ', start + 1);
    next = `${existing.slice(0, start)}\n${section}${end === -1 ? '' : `\n${existing.slice(end + 1)}`}`;
  }
  await writeFile(RESULTS, next);
  console.log(`wrote the Serving section of ${path.relative(REPO, RESULTS)}`);
}

function sampleRow(seed: number): number[] {
  const random = createRandom(seed);
  return Array.from({ length: FEATURES }, () => Math.round(gaussian(random) * 1000) / 1000);
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

await main();
