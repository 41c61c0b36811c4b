/**
 * Matrix factorization training-step benchmark: algorithm=matrix-factorization's step (biased MF,
 * MSE plus L2 on the batch's biases and factors, one ONNX Runtime run per step) against PyTorch
 * 1.13 on the CPU, from the same initial tables on the same rating batches, with the algorithm's
 * default hyperparameters (parseHyperparameters: Adam, learning rate, embedding_dim,
 * regularization, batch_size), over 5000 users x 2000 items of low-rank synthetic ratings.
 *
 * 1. Losses must agree: the first step's to 1e-5 relative (same tables, same batch), all 20 to 1e-2.
 * 2. Time per step at 1 and 2 threads, in interleaved rounds (runtime, PyTorch, PyTorch, runtime,
 *    ...), medians over every timed step with their quartiles, reported as runtime / PyTorch.
 *
 * Usage: npx tsx bench/mf/bench.ts [--rounds N] [--steps-per-round N] [--write-results]
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { parseHyperparameters } from '../../model-runtime/src/contract/hyperparameters.ts';
import type { Batch } from '../../model-runtime/src/data/batch.ts';
import { createRandom } from '../../model-runtime/src/data/random.ts';
import { matrixFactorizationParameters, type MatrixFactorizationConfig } from '../../model-runtime/src/models/matrix-factorization.ts';
import { MatrixFactorizationModel } from '../../model-runtime/src/models/matrix-factorization-model.ts';
import { optimizerConfig } from '../../model-runtime/src/train/configs.ts';
import { describeCpu } from '../machine.ts';
import { TorchPeer, maxRelative, median, quartiles, writeSection, writeTensors } from '../peer-process.ts';
import { interleavedTimes, stepLosses } from '../runtime-steps.ts';

const USERS = 5000;
const ITEMS = 2000;
/** Rank of the synthetic ratings' true factors: below embedding_dim, so the model can fit them. */
const TRUE_RANK = 4;
const BATCHES = 10;
const LOSS_STEPS = 20;
const TOLERANCE = 1e-2;
const FIRST_STEP_TOLERANCE = 1e-5;
const THREADS = [1, 2];
const SEED = 2024;

const ROOT = join(import.meta.dirname, '..', '..');
const DATA_DIR = join(ROOT, 'bench', 'out', 'mf');
const RESULTS_FILE = join(ROOT, 'bench', 'RESULTS.md');
const HEADING = '## Matrix factorization training step';

// The defaults a job with only algorithm=matrix-factorization trains with.
const hp = parseHyperparameters({ algorithm: 'matrix-factorization' });
const optimizer = optimizerConfig(hp, 1_000_000);
const BATCH = hp.batchSize;
// The peer builds plain torch.optim.Adam at a constant rate: a changed default must change it too.
if (optimizer.name !== 'adam' || optimizer.schedule.kind !== 'constant' || optimizer.schedule.warmupSteps !== 0 || optimizer.weightDecay !== 0 || optimizer.gradClip !== 0) {
  throw new Error(`bench/mf's peer runs Adam at a constant learning rate without weight decay or clipping; matrix-factorization now defaults to ${JSON.stringify(optimizer)}: update torch_peer.py to match`);
}

/** Ratings 3 + a_u . b_i + noise, with uniform rank-TRUE_RANK factors; users and items uniform. */
function makeBatches(): Batch[] {
  const random = createRandom(7);
  const factors = (n: number): Float32Array => Float32Array.from({ length: n * TRUE_RANK }, () => (random() - 0.5) * 2);
  const [a, b] = [factors(USERS), factors(ITEMS)];
  return Array.from({ length: BATCHES }, () => {
    const x = new Float32Array(2 * BATCH);
    const y = new Float32Array(BATCH);
    for (let r = 0; r < BATCH; r++) {
      const [u, i] = [Math.floor(random() * USERS), Math.floor(random() * ITEMS)];
      let dot = 0;
      for (let k = 0; k < TRUE_RANK; k++) dot += a[u * TRUE_RANK + k]! * b[i * TRUE_RANK + k]!;
      [x[2 * r], x[2 * r + 1], y[r]] = [u, i, 3 + dot + (random() - 0.5) * 0.2];
    }
    return { size: BATCH, x, y };
  });
}

const create = (mf: MatrixFactorizationConfig, threads: number): Promise<MatrixFactorizationModel> =>
  MatrixFactorizationModel.create(mf, optimizer, SEED, { device: 'cpu', intraOpNumThreads: threads, allowSpinning: false });

interface Row {
  readonly threads: number;
  readonly maxRelative: number;
  readonly firstStep: number;
  readonly firstLast: [number, number, number, number];
  readonly runtimeMs: number;
  readonly torchMs: number;
  readonly runtimeIqr: [number, number];
  readonly torchIqr: [number, number];
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--rounds <n>', 'interleaved timing rounds per thread count', (v) => Number.parseInt(v, 10), 10)
    .option('--steps-per-round <n>', 'timed steps per engine per round', (v) => Number.parseInt(v, 10), 50)
    .option('--write-results', `replace the "${HEADING.slice(3)}" section of bench/RESULTS.md`)
    .parse()
    .opts<{ rounds: number; stepsPerRound: number; writeResults?: boolean }>();

  const batches = makeBatches();
  // μ as a job computes it: the training ratings' mean (here all the batches'), then float32 as in the graph.
  const globalMean = Math.fround(batches.reduce((s, b) => s + b.y.reduce((t, v) => t + v, 0), 0) / (BATCHES * BATCH));
  const mf: MatrixFactorizationConfig = { users: USERS, items: ITEMS, embeddingDim: hp.embeddingDim, regularization: hp.regularization, globalMean };

  mkdirSync(DATA_DIR, { recursive: true });
  const initial = await create(mf, 1);
  const state = initial.getState();
  await initial.release();
  const column = (b: Batch, k: number): Float32Array => Float32Array.from({ length: b.size }, (_, r) => b.x[2 * r + k]!);
  writeTensors(join(DATA_DIR, 'mf'), [
    ...matrixFactorizationParameters(mf).map((p) => [p.name, [...p.shape], state.tensors[p.name]!.data] as [string, number[], Float32Array]),
    ...batches.flatMap((b, i) => [[`user${i}`, [BATCH], column(b, 0)], [`item${i}`, [BATCH], column(b, 1)], [`rating${i}`, [BATCH], b.y]] as [string, number[], Float32Array][]),
  ], (index) => ({
    batches: batches.map((_, i) => ({ user: index[`user${i}`], item: index[`item${i}`], rating: index[`rating${i}`] })),
    global_mean: globalMean, regularization: mf.regularization,
    optimizer: { lr: optimizer.learningRate, beta1: optimizer.beta1, beta2: optimizer.beta2, eps: optimizer.epsilon },
  }));

  const peers = THREADS.map((t) => new TorchPeer(join(import.meta.dirname, 'torch_peer.py'), DATA_DIR, t));
  const torchVersion = (await Promise.all(peers.map((p) => p.ready())))[0]!;
  const load = os.loadavg()[0]!;

  const rows: Row[] = [];
  for (const [i, threads] of THREADS.entries()) {
    const peer = peers[i]!;
    const lossModel = await create(mf, threads);
    const runtime = await stepLosses(lossModel, batches, LOSS_STEPS);
    await lossModel.release();
    const torch = await peer.losses(LOSS_STEPS);
    const m = await create(mf, threads);
    const times = await interleavedTimes(m, batches, (steps) => peer.time(steps), options.rounds, options.stepsPerRound);
    await m.release();
    const row: Row = {
      threads, maxRelative: maxRelative(runtime, torch), firstStep: Math.abs(runtime[0]! - torch[0]!) / Math.abs(torch[0]!),
      firstLast: [runtime[0]!, runtime.at(-1)!, torch[0]!, torch.at(-1)!],
      runtimeMs: median(times.runtime), torchMs: median(times.peer), runtimeIqr: quartiles(times.runtime), torchIqr: quartiles(times.peer),
    };
    rows.push(row);
    console.log(`${threads} thread(s): losses max relative ${row.maxRelative.toExponential(2)} (step 1 ${row.firstStep.toExponential(2)}); runtime ${row.runtimeMs.toFixed(2)} ms, PyTorch ${row.torchMs.toFixed(2)} ms, ratio ${(row.runtimeMs / row.torchMs).toFixed(2)}`);
  }
  peers.forEach((p) => p.close());

  const section = renderSection(torchVersion, mf, rows, options.rounds * options.stepsPerRound, load, os.loadavg()[0]!);
  console.log(`\n${section}`);
  if (options.writeResults === true) writeSection(RESULTS_FILE, HEADING, section);
  if (rows.some((r) => !(r.maxRelative <= TOLERANCE) || !(r.firstStep <= FIRST_STEP_TOLERANCE))) {
    console.error(`FAIL: losses differ by more than ${FIRST_STEP_TOLERANCE} relative at step 1 or ${TOLERANCE} over ${LOSS_STEPS} steps`);
    process.exitCode = 1;
  }
}

function renderSection(torchVersion: string, mf: MatrixFactorizationConfig, rows: readonly Row[], timedSteps: number, loadBefore: number, loadAfter: number): string {
  const iqr = ([a, b]: [number, number]): string => `${a.toFixed(2)}-${b.toFixed(2)}`;
  const r = rows[0]!;
  return [
    HEADING,
    '',
    `algorithm=matrix-factorization's step with its defaults: ${USERS} users x ${ITEMS} items, embedding_dim ${mf.embeddingDim}, regularization ${mf.regularization},`,
    `batch ${BATCH} ratings (${BATCHES} batches of rank-${TRUE_RANK} synthetic ratings, taken in turn), ${optimizer.name} lr ${optimizer.learningRate}; one ONNX Runtime run per step`,
    `against PyTorch ${torchVersion} (the tables indexed by the batch, dense gradients, torch.optim.Adam), same initial tables.`,
    `${describeCpu()}; load ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after; ${timedSteps} timed steps per engine and thread count in interleaved rounds.`,
    '',
    '| threads | losses max rel. diff (20 steps) | runtime ms/step (IQR) | PyTorch ms/step (IQR) | runtime / PyTorch |',
    '|---|---|---|---|---|',
    ...rows.map((row) => `| ${row.threads} | ${row.maxRelative.toExponential(1)} | ${row.runtimeMs.toFixed(2)} (${iqr(row.runtimeIqr)}) | ${row.torchMs.toFixed(2)} (${iqr(row.torchIqr)}) | ${(row.runtimeMs / row.torchMs).toFixed(2)} |`),
    '',
    `Loss at step 1 / 20: ${r.firstLast[0].toFixed(5)} / ${r.firstLast[1].toFixed(5)} (runtime), ${r.firstLast[2].toFixed(5)} / ${r.firstLast[3].toFixed(5)} (PyTorch).`,
    '',
    'Command: `npm run bench:mf` (needs `apt-get install -y python3-torch libopenblas0-pthread`; runs',
    '`npx tsx bench/mf/bench.ts --write-results`).',
  ].join('\n');
}

await main();
