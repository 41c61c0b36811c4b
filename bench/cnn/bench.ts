/**
 * CNN training-step benchmark: the image classifier's network (two conv blocks of 32 and 64
 * channels, 3x3 'same' conv + ReLU + 2x2 max pool, a 128-unit ReLU head, 10 classes; pixels
 * normalised inside the step) in this runtime (one ONNX Runtime run per step) against PyTorch 1.13
 * on the CPU, from the same initial weights on the same batches, at 28x28 grayscale and 64x64
 * RGB, batch 64, plain SGD. Each shape also runs with batch_norm=true ("+ BN" rows: each Conv
 * without bias, then BatchNorm2d in training mode, momentum 0.1, scale 1 and shift 0 at the start).
 *
 * 1. Losses must agree: the first step's to 1e-5 relative (same weights, same batch), all 20 to
 *    1e-2 (the engines sum convolutions in other orders, and 20 steepest-descent steps from a loss
 *    of 4.9 amplify float32 rounding; measured 2e-5 to 5e-3). With batch normalisation the running
 *    mean and variance after those 20 steps must agree to 1e-2 too (they follow the same drifting
 *    weights).
 * 2. Time per step at 1 and 2 threads, in interleaved rounds (runtime, PyTorch, PyTorch,
 *    runtime, ...), medians over every timed step, reported as runtime / PyTorch, with the
 *    spread (quartiles) of each engine's steps.
 * 3. Against the limit: the step's matmul FLOPs (step-flops.ts) over its median time, as a share
 *    of the best rate of a 1024^3 float32 MatMul in ONNX Runtime at the same threads.
 *
 * Usage: npx tsx bench/cnn/bench.ts [--rounds N] [--steps-per-round N] [--cases ID,...] [--write-results]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import type { Batch } from '../../model-runtime/src/data/batch.ts';
import { createRandom } from '../../model-runtime/src/data/random.ts';
import { ConvClassifier } from '../../model-runtime/src/models/conv-classifier.ts';
import { imageClassifierSpec } from '../../model-runtime/src/models/image-classifier.ts';
import type { OptimizerConfig } from '../../model-runtime/src/optim/optimizer-config.ts';
import { describeCpu } from '../machine.ts';
import { bestMatmulRate } from '../matmul-rate.ts';
import { cnnStepFlops } from './step-flops.ts';
import { TorchPeer, maxRelative, median, writeSection, writeTensors } from '../peer-process.ts';
import { stepLosses, timeSteps } from '../runtime-steps.ts';

interface BenchShape {
  readonly name: string;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

interface BenchCase extends BenchShape {
  /** What --cases and the peer's data files call it: the shape's name, with "-bn" for batch norm. */
  readonly id: string;
  /** The table's label: the shape's name, with " + BN" for batch norm. */
  readonly label: string;
  readonly batchNorm: boolean;
}

const SHAPES: readonly BenchShape[] = [
  { name: '28x28x1', height: 28, width: 28, channels: 1 },
  { name: '64x64x3', height: 64, width: 64, channels: 3 },
];
/** Each shape without, then with batch normalisation, so the two rows sit side by side. */
const CASES: readonly BenchCase[] = SHAPES.flatMap((s) => [
  { ...s, id: s.name, label: s.name, batchNorm: false },
  { ...s, id: `${s.name}-bn`, label: `${s.name} + BN`, batchNorm: true },
]);
/** torch.nn.BatchNorm2d's default, and the runtime's batch_norm_momentum default. */
const BATCH_NORM_MOMENTUM = 0.1;
const BATCH = 64;
const WIDTHS = [32, 64];
const DENSE = 128;
const CLASSES = 10;
const LEARNING_RATE = 0.01;
const LOSS_STEPS = 20;
const BATCHES = 10;
const TOLERANCE = 1e-2;
const FIRST_STEP_TOLERANCE = 1e-5;
const THREADS = [1, 2];
const SEED = 2024;

const ROOT = join(import.meta.dirname, '..', '..');
const DATA_DIR = join(ROOT, 'bench', 'out', 'cnn');
const RESULTS_FILE = join(ROOT, 'bench', 'RESULTS.md');
const HEADING = '## CNN training step';

const optimizer: OptimizerConfig = {
  name: 'sgd', learningRate: LEARNING_RATE, momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, gradClip: 0,
  schedule: { kind: 'constant', warmupSteps: 0, totalSteps: 1 },
};

const specOf = (c: BenchCase) =>
  imageClassifierSpec({
    height: c.height, width: c.width, channels: c.channels,
    channelMean: new Array<number>(c.channels).fill(0.5), channelStd: new Array<number>(c.channels).fill(0.25),
    cnn: {
      widths: WIDTHS, convsPerBlock: 1, kernelSize: 3, denseUnits: DENSE, classes: CLASSES,
      ...(c.batchNorm ? { batchNorm: { momentum: BATCH_NORM_MOMENTUM } } : {}),
    },
  });

const create = (c: BenchCase, threads: number): Promise<ConvClassifier> =>
  ConvClassifier.create(specOf(c), optimizer, SEED, { device: 'cpu', intraOpNumThreads: threads, allowSpinning: false });

/** Pixel batches whose label is the brightest of 10 horizontal stripes (so the loss really falls). */
function makeBatches(c: BenchShape): Batch[] {
  const random = createRandom(7);
  const size = c.height * c.width * c.channels;
  return Array.from({ length: BATCHES }, () => {
    const x = new Float32Array(BATCH * size);
    const y = new Float32Array(BATCH);
    for (let b = 0; b < BATCH; b++) {
      const label = Math.floor(random() * CLASSES);
      y[b] = label;
      for (let i = 0; i < size; i++) {
        const row = Math.floor(i / (c.width * c.channels));
        const stripe = Math.floor((row * CLASSES) / c.height);
        x[b * size + i] = random() * 160 + (stripe === label ? 95 : 0);
      }
    }
    return { size: BATCH, x, y };
  });
}

/** Losses of the first LOSS_STEPS steps, and the running statistics after them (copies; none without batch norm). */
async function runtimeLosses(c: BenchCase, threads: number, batches: Batch[]): Promise<{ losses: number[]; statistics: Record<string, number[]> }> {
  const m = await create(c, threads);
  const losses = await stepLosses(m, batches, LOSS_STEPS);
  const statistics = Object.fromEntries(Object.entries(m.runningStatistics()).map(([name, t]) => [name, Array.from(t.data as Float32Array)]));
  await m.release();
  return { losses, statistics };
}

interface StatisticsDifference {
  /**
   * The largest difference relative to the largest magnitude in the same tensor, the one held to
   * the tolerance: a channel's running mean can sit near 0, where an element-wise ratio measures
   * float32 rounding against almost nothing.
   */
  readonly scaled: number;
  /** The largest element-wise relative difference, for the record. */
  readonly elementwise: number;
}

/** The two engines' running statistics compared; NaN where the peer lacks a tensor or its length differs. */
function statisticsDifference(runtime: Readonly<Record<string, number[]>>, torch: Readonly<Record<string, number[]>>): StatisticsDifference {
  let [scaled, elementwise] = [0, 0];
  for (const [name, values] of Object.entries(runtime)) {
    const peer = torch[name];
    if (peer?.length !== values.length) return { scaled: Number.NaN, elementwise: Number.NaN };
    const scale = Math.max(...peer.map(Math.abs), 1e-12);
    values.forEach((v, i) => {
      const difference = Math.abs(v - peer[i]!);
      scaled = Math.max(scaled, difference / scale);
      elementwise = Math.max(elementwise, difference / Math.max(Math.abs(peer[i]!), 1e-12));
    });
  }
  return { scaled, elementwise };
}

const quartiles = (xs: readonly number[]): [number, number] => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[Math.floor((s.length - 1) / 4)]!, s[Math.ceil(((s.length - 1) * 3) / 4)]!];
};

interface Row {
  readonly case: BenchCase;
  readonly threads: number;
  readonly maxRelative: number;
  /** Running mean and variance after the loss steps (statisticsDifference); null without batch norm. */
  readonly statisticsRelative: StatisticsDifference | null;
  readonly firstLast: [number, number, number, number];
  readonly runtimeMs: number;
  readonly torchMs: number;
  readonly runtimeIqr: [number, number];
  readonly torchIqr: [number, number];
  /** The step's matmul FLOPs. */
  readonly flops: number;
  /** GFLOP/s of the best 1024^3 MatMul at these threads. */
  readonly matmulRate: number;
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--rounds <n>', 'interleaved timing rounds per case and thread count', (v) => Number.parseInt(v, 10), 4)
    .option('--steps-per-round <n>', 'timed steps per engine per round', (v) => Number.parseInt(v, 10), 5)
    .option('--cases <ids>', `comma-separated cases to run, of ${CASES.map((c) => c.id).join(', ')}`, CASES.map((c) => c.id).join(','))
    .option('--write-results', `replace the "${HEADING.slice(3)}" section of bench/RESULTS.md`)
    .parse()
    .opts<{ rounds: number; stepsPerRound: number; cases: string; writeResults?: boolean }>();
  const selected = selectCases(options.cases);

  mkdirSync(DATA_DIR, { recursive: true });
  const batchesOf = new Map<string, Batch[]>();
  const cases: Record<string, object> = {};
  for (const c of selected) {
    const batches = makeBatches(c);
    batchesOf.set(c.id, batches);
    const initial = await create(c, 1);
    const values = initial.parameterValues();
    // Per block the conv weight and then its bias, or (batch norm) the BN scale and shift; then the
    // head: torch's parameters() order for the same Sequential.
    const names = initial.parameters.map((p) => p.name);
    const statistics = Object.keys(initial.runningStatistics()); // running mean, var per BN: its buffers' order
    const entries: [string, number[], Float32Array][] = [
      ...names.map((n) => [n, [...values[n]!.dims], Float32Array.from(values[n]!.data)] as [string, number[], Float32Array]),
      ...batches.flatMap((b, i) => [[`x${i}`, [BATCH, c.height, c.width, c.channels], b.x], [`y${i}`, [BATCH], b.y]] as [string, number[], Float32Array][]),
    ];
    await initial.release();
    writeTensors(join(DATA_DIR, c.id), entries, (index) => ({ batches: batches.map((_, i) => ({ x: index[`x${i}`], y: index[`y${i}`] })) }));
    cases[c.id] = {
      height: c.height, width: c.width, channels: c.channels, widths: WIDTHS, dense: DENSE, classes: CLASSES, learning_rate: LEARNING_RATE,
      mean: new Array<number>(c.channels).fill(0.5), std: new Array<number>(c.channels).fill(0.25), parameters: names,
      batch_norm: c.batchNorm, momentum: BATCH_NORM_MOMENTUM, statistics,
    };
  }
  writeFileSync(join(DATA_DIR, 'cases.json'), JSON.stringify(cases));

  const peers = THREADS.map((t) => new TorchPeer(join(import.meta.dirname, 'torch_peer.py'), DATA_DIR, t));
  const torchVersion = (await Promise.all(peers.map((p) => p.ready())))[0]!;
  const load = os.loadavg()[0]!;
  const matmulRates = new Map<number, number>();
  for (const t of THREADS) matmulRates.set(t, await bestMatmulRate(t));

  const rows: Row[] = [];
  for (const c of selected) {
    const batches = batchesOf.get(c.id)!;
    for (const [i, threads] of THREADS.entries()) {
      const peer = peers[i]!;
      const runtime = await runtimeLosses(c, threads, batches);
      const torch = await peer.losses(LOSS_STEPS, { case: c.id });
      // Before the timed steps below move them on: the state after exactly the loss steps.
      const torchStatistics = (await peer.request<{ statistics: Record<string, number[]> }>({ cmd: 'statistics', case: c.id })).statistics;
      const m = await create(c, threads);
      await timeSteps(m, batches, 2, 0); // warm-up: the first runs allocate the arena
      await peer.time(2, { case: c.id });
      const runtimeTimes: number[] = [];
      const torchTimes: number[] = [];
      for (let round = 0; round < options.rounds; round++) {
        const runRuntime = async (): Promise<void> => { runtimeTimes.push(...(await timeSteps(m, batches, options.stepsPerRound, round))); };
        const runTorch = async (): Promise<void> => { torchTimes.push(...(await peer.time(options.stepsPerRound, { case: c.id }))); };
        if (round % 2 === 0) { await runRuntime(); await runTorch(); } else { await runTorch(); await runRuntime(); }
      }
      await m.release();
      const row: Row = {
        case: c, threads, maxRelative: maxRelative(runtime.losses, torch),
        statisticsRelative: c.batchNorm ? statisticsDifference(runtime.statistics, torchStatistics) : null,
        firstLast: [runtime.losses[0]!, runtime.losses.at(-1)!, torch[0]!, torch.at(-1)!],
        runtimeMs: median(runtimeTimes), torchMs: median(torchTimes), runtimeIqr: quartiles(runtimeTimes), torchIqr: quartiles(torchTimes),
        flops: cnnStepFlops({ batch: BATCH, height: c.height, width: c.width, channels: c.channels, widths: WIDTHS, kernel: 3, dense: DENSE, classes: CLASSES }),
        matmulRate: matmulRates.get(threads)!,
      };
      rows.push(row);
      const statistics = row.statisticsRelative === null ? '' : `, running statistics ${row.statisticsRelative.scaled.toExponential(2)} (element-wise ${row.statisticsRelative.elementwise.toExponential(2)})`;
      console.log(`${c.label}, ${threads} thread(s): losses max relative ${row.maxRelative.toExponential(2)}${statistics}; runtime ${row.runtimeMs.toFixed(1)} ms, PyTorch ${row.torchMs.toFixed(1)} ms, ratio ${(row.runtimeMs / row.torchMs).toFixed(2)}`);
    }
  }
  peers.forEach((p) => p.close());

  const section = renderSection(torchVersion, selected, rows, options.rounds * options.stepsPerRound, load, os.loadavg()[0]!);
  console.log(`\n${section}`);
  if (options.writeResults === true) writeSection(RESULTS_FILE, HEADING, section);
  const firstStep = (r: Row): number => Math.abs(r.firstLast[0] - r.firstLast[2]) / Math.abs(r.firstLast[2]);
  if (rows.some((r) => !(r.maxRelative <= TOLERANCE) || !(firstStep(r) <= FIRST_STEP_TOLERANCE) || !((r.statisticsRelative?.scaled ?? 0) <= TOLERANCE))) {
    console.error(`FAIL: losses differ by more than ${FIRST_STEP_TOLERANCE} relative at step 1 or ${TOLERANCE} over 20 steps, or running statistics by more than ${TOLERANCE}`);
    process.exitCode = 1;
  }
}

/** The cases --cases names, in the table's order; refuses a name that is not one of them. */
function selectCases(ids: string): BenchCase[] {
  const wanted = ids.split(',').map((id) => id.trim()).filter((id) => id !== '');
  const unknown = wanted.filter((id) => !CASES.some((c) => c.id === id));
  if (unknown.length > 0 || wanted.length === 0) {
    throw new Error(`--cases ${JSON.stringify(ids)}: ${unknown.length > 0 ? `unknown case ${unknown.join(', ')}` : 'no case named'}; expected a comma-separated list of ${CASES.map((c) => c.id).join(', ')}`);
  }
  return CASES.filter((c) => wanted.includes(c.id));
}

function renderSection(torchVersion: string, cases: readonly BenchCase[], rows: readonly Row[], timedSteps: number, loadBefore: number, loadAfter: number): string {
  const iqr = ([a, b]: [number, number]): string => `${a.toFixed(0)}-${b.toFixed(0)}`;
  const firstRow = (c: BenchCase): Row => rows.find((r) => r.case === c)!;
  const shapes = SHAPES.filter((s) => cases.some((c) => c.name === s.name));
  return [
    HEADING,
    '',
    `The image classifier's CNN: conv 3x3 'same' (${WIDTHS.join(', ')} channels) + ReLU + 2x2 max pool per block, Linear ${DENSE} + ReLU,`,
    `Linear ${CLASSES}; pixels (B, H, W, C) 0..255 normalised inside the step; softmax cross-entropy, plain SGD (lr ${LEARNING_RATE}), batch ${BATCH};`,
    `the same initial weights and the same ${BATCHES} batches in both engines. This runtime runs each step as one ONNX Runtime`,
    `${ort.env.versions.common} session run; the peer is PyTorch ${torchVersion} (Debian python3-torch + OpenBLAS, CPU), both waiting passively.`,
    `"+ BN" rows: batch_norm=true, each conv without bias followed by batch normalisation in training mode (PyTorch's BatchNorm2d in`,
    `train(), momentum ${BATCH_NORM_MOMENTUM}; scale 1, shift 0, running mean 0 and variance 1 at the start); their running statistics after the 20 loss steps`,
    `are compared as the largest difference relative to the largest magnitude in the same tensor (in brackets: element-wise).`,
    `Time is the median over ${timedSteps} timed steps per engine in interleaved rounds; IQR = the middle half of the steps.`,
    `Machine: ${describeCpu()} shared with other agents' builds and tests; load average ${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end.`,
    '',
    '| input | threads | losses: max relative difference over 20 steps | BN running mean / var: max relative difference after 20 steps | runtime ms/step (IQR) | PyTorch ms/step (IQR) | ratio (runtime / PyTorch) | runtime GFLOP/s: share of the best MatMul rate | PyTorch GFLOP/s: share |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const rate = (ms: number): string => `${(r.flops / (ms / 1000) / 1e9).toFixed(0)}: ${((100 * r.flops) / (ms / 1000) / 1e9 / r.matmulRate).toFixed(0)}%`;
      const statistics = r.statisticsRelative === null ? '-' : `${r.statisticsRelative.scaled.toExponential(1)} (${r.statisticsRelative.elementwise.toExponential(1)})`;
      return `| ${r.case.label} | ${r.threads} | ${r.maxRelative.toExponential(1)} | ${statistics} | ${r.runtimeMs.toFixed(1)} (${iqr(r.runtimeIqr)}) | ${r.torchMs.toFixed(1)} (${iqr(r.torchIqr)}) | ${(r.runtimeMs / r.torchMs).toFixed(2)} | ${rate(r.runtimeMs)} | ${rate(r.torchMs)} |`;
    }),
    '',
    `Matmul FLOPs per step (step-flops.ts: conv forward, input and weight gradients, dense layers; the same with batch norm, whose`,
    `element-wise passes are not counted): ${shapes.map((s) => `${s.name} ${(rows.find((r) => r.case.name === s.name)!.flops / 1e9).toFixed(2)} GFLOP`).join(', ')}. `
      + `The limit: ONNX Runtime's best 1024^3 float32 MatMul, ${THREADS.map((t) => `${rows.find((r) => r.threads === t)!.matmulRate.toFixed(0)} GFLOP/s at ${t} thread(s)`).join(', ')}.`,
    '',
    ...cases.map((c) => {
      const r = firstRow(c);
      return `${c.label} loss at step 1 / 20: ${r.firstLast[0].toFixed(5)} / ${r.firstLast[1].toFixed(5)} (runtime), ${r.firstLast[2].toFixed(5)} / ${r.firstLast[3].toFixed(5)} (PyTorch).`;
    }),
    '',
    'Command: `npm run bench:cnn` (needs `apt-get install -y python3-torch libopenblas0-pthread`; runs',
    '`npx tsx bench/cnn/bench.ts --write-results`; `-- --cases 28x28x1,28x28x1-bn` runs only those).',
  ].join('\n');
}

await main();
