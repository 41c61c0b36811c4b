/**
 * Where the CNN training step's time goes: runs bench/cnn's training graph (same network,
 * batch 64) under ONNX Runtime's profiler and sums the kernel time of each op type per step,
 * for the before/after tables in bench/RESULTS.md.
 *
 * Usage: npx tsx bench/cnn/profile.ts [--case 28x28x1|64x64x3] [--threads N] [--steps N] [--level L] [--graph F] [--nodes] [--batch-norm]
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { sessionOptions, type GraphOptimizationLevel } from '../../model-runtime/src/engine/session.ts';
import { buildTrainingGraph } from '../../model-runtime/src/models/conv-classifier.ts';
import { imageClassifierSpec } from '../../model-runtime/src/models/image-classifier.ts';
import { cnnParameters, cnnRunningStatistics } from '../../model-runtime/src/models/cnn.ts';
import type { OptimizerConfig } from '../../model-runtime/src/optim/optimizer-config.ts';
import { scalarInputValues } from '../../model-runtime/src/optim/optimizers.ts';
import { createRandom } from '../../model-runtime/src/data/random.ts';

const SHAPES: Record<string, [number, number, number]> = { '28x28x1': [28, 28, 1], '64x64x3': [64, 64, 3] };
const BATCH = 64;

const optimizer: OptimizerConfig = {
  name: 'sgd', learningRate: 0.01, momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, gradClip: 0,
  schedule: { kind: 'constant', warmupSteps: 0, totalSteps: 1 },
};

interface ProfileEvent {
  readonly cat: string;
  readonly name: string;
  readonly dur: number;
  readonly args?: { readonly op_name?: string };
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--case <name>', 'input shape', '28x28x1')
    .option('--threads <n>', 'intra-op threads', (v) => Number.parseInt(v, 10), 1)
    .option('--steps <n>', 'profiled steps after 3 warm-up steps', (v) => Number.parseInt(v, 10), 10)
    .option('--level <level>', 'ONNX Runtime graph optimization level (basic, extended, all); default extended, as ConvClassifier trains')
    .option('--graph <file>', "profile this training graph (an .onnx of the same network, e.g. an older build's) instead of today's")
    .option('--nodes', 'also list the 15 slowest nodes')
    .option('--batch-norm', 'the network with batch_norm=true (BatchNorm after each conv)')
    .parse()
    .opts<{ case: string; threads: number; steps: number; level?: GraphOptimizationLevel; graph?: string; nodes?: boolean; batchNorm?: boolean }>();
  if (options.level !== undefined && !['basic', 'extended', 'all'].includes(options.level)) throw new Error(`--level must be basic, extended or all, got ${options.level}`);
  const shape = SHAPES[options.case];
  if (shape === undefined) throw new Error(`--case must be one of ${Object.keys(SHAPES).join(', ')}, got ${options.case}`);
  const [height, width, channels] = shape;
  const spec = imageClassifierSpec({
    height, width, channels, channelMean: new Array<number>(channels).fill(0.5), channelStd: new Array<number>(channels).fill(0.25),
    cnn: { widths: [32, 64], convsPerBlock: 1, kernelSize: 3, denseUnits: 128, classes: 10, ...(options.batchNorm === true ? { batchNorm: { momentum: 0.1 } } : {}) },
  });
  const dir = mkdtempSync(join(os.tmpdir(), 'cnn-profile-'));
  const model = options.graph === undefined ? buildTrainingGraph(spec, optimizer) : readFileSync(options.graph);
  const session = await ort.InferenceSession.create(model, {
    // The level ConvClassifier gives its training session unless --level says otherwise.
    ...sessionOptions(['cpu'], options.threads, false, options.level ?? 'extended'),
    enableProfiling: true,
    profileFilePrefix: join(dir, 'step'),
  });
  const random = createRandom(5);
  const fill = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => (random() - 0.5) * scale);
  const feeds: Record<string, ort.Tensor> = {};
  for (const p of cnnParameters(spec.cnn)) feeds[p.name] = new ort.Tensor('float32', fill(p.shape.reduce((a, b) => a * b, 1), 0.1), [...p.shape]);
  for (const p of cnnRunningStatistics(spec.cnn)) feeds[p.name] = new ort.Tensor('float32', new Float32Array(p.shape[0]!).fill(p.init === 'ones' ? 1 : 0), [...p.shape]);
  for (const [name, value] of Object.entries(scalarInputValues(optimizer, 0))) feeds[name] = new ort.Tensor('float32', Float32Array.of(value), []);
  feeds[spec.inputName] = new ort.Tensor('float32', Float32Array.from({ length: BATCH * height * width * channels }, () => random() * 255), [BATCH, ...spec.exampleShape]);
  feeds.y = new ort.Tensor('float32', Float32Array.from({ length: BATCH }, () => Math.floor(random() * 10)), [BATCH]);

  const WARM_UP = 3;
  const wall: number[] = [];
  for (let i = 0; i < WARM_UP + options.steps; i++) {
    const start = performance.now();
    await session.run(feeds);
    wall.push(performance.now() - start);
  }
  session.endProfiling(); // writes step_<date>.json under dir (onnxruntime-node returns no name)
  await session.release();
  const file = readdirSync(dir).find((f) => f.endsWith('.json'));
  if (file === undefined) throw new Error(`ONNX Runtime wrote no profile under ${dir}`);
  const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as ProfileEvent[];
  rmSync(dir, { recursive: true, force: true });

  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  // The kernels of the profiled (post-warm-up) runs: the last `steps` runs' share of kernel events.
  const perRun = kernels.length / runs.length;
  const timed = kernels.slice(WARM_UP * perRun);
  const byOp = new Map<string, { us: number; count: number }>();
  const byNode = new Map<string, number>();
  for (const e of timed) {
    const op = e.args?.op_name ?? '?';
    const entry = byOp.get(op) ?? { us: 0, count: 0 };
    entry.us += e.dur;
    entry.count += 1;
    byOp.set(op, entry);
    byNode.set(`${op} ${e.name.replace(/_kernel_time$/, '')}`, (byNode.get(`${op} ${e.name.replace(/_kernel_time$/, '')}`) ?? 0) + e.dur);
  }
  const total = [...byOp.values()].reduce((a, b) => a + b.us, 0);
  const runMs = runs.slice(WARM_UP).map((r) => r.dur / 1000).sort((a, b) => a - b);
  console.log(`${options.case}, ${options.threads} thread(s), ${options.graph ?? 'this build'}, level ${options.level ?? 'extended'}, ${options.steps} profiled steps; load ${os.loadavg()[0]!.toFixed(1)}`);
  console.log(`model_run median ${runMs[Math.floor(runMs.length / 2)]!.toFixed(1)} ms; kernels ${(total / 1000 / options.steps).toFixed(1)} ms/step in ${perRun} nodes`);
  console.log('| op type | nodes | ms/step | share |');
  console.log('|---|---|---|---|');
  for (const [op, { us, count }] of [...byOp].sort((a, b) => b[1].us - a[1].us)) {
    console.log(`| ${op} | ${count / options.steps} | ${(us / 1000 / options.steps).toFixed(2)} | ${((100 * us) / total).toFixed(1)}% |`);
  }
  if (options.nodes === true) {
    console.log('\nslowest nodes (ms/step):');
    for (const [name, us] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${(us / 1000 / options.steps).toFixed(2)}  ${name}`);
  }
}

await main();
