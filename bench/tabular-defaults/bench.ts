/**
 * Default-settings quality: this runtime (only `algorithm` set) against scikit-learn's defaults on
 * every data set scikit-learn ships, on the same train/test splits, side by side in one run.
 *
 * sklearn_peer.py writes each split to CSV and fits scikit-learn (LogisticRegression and
 * MLPClassifier for classification, LinearRegression and MLPRegressor for regression, standardised inputs); this
 * script trains the runtime's logistic-regression and mlp (classification) or linear-regression
 * and mlp (regression) on the same train.csv and scores them on test.csv. Accuracy is compared with
 * the better of scikit-learn's two classifiers, RMSE with LinearRegression's; each model is also
 * set against its own counterpart (MLPRegressor for the regression mlp).
 *
 * Usage: npx tsx bench/tabular-defaults/bench.ts [--repeats N] [--only iris,wine] [--write-results]
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { runtimePaths } from '../../model-runtime/src/contract/paths.ts';
import { InferenceModel } from '../../model-runtime/src/serve/inference-model.ts';
import { runTraining } from '../../model-runtime/src/train/run.ts';
import { peerEnvironment } from '../peer-env.ts';
import { replaceResultsSection } from './results-section.ts';

interface PeerRow {
  readonly dataset: string;
  readonly kind: 'classification' | 'regression';
  readonly repeat: number;
  readonly rows: number;
  readonly features: number;
  readonly train_rows: number;
  readonly model: string;
  readonly seconds: number;
  readonly accuracy?: number;
  readonly rmse?: number;
}

interface Score {
  readonly score: number;
  readonly seconds: number;
  /** The run's note lines that say which defaults it chose (for the table's footnote). */
  readonly notes: readonly string[];
}

const ROOT = path.join(import.meta.dirname, '..', '..');
const RESULTS_FILE = path.join(ROOT, 'bench', 'RESULTS.md');

/** scikit-learn's model that each of ours is compared with, by task kind. */
const PEER_OF: Record<PeerRow['kind'], Record<string, string>> = {
  classification: { 'logistic-regression': 'LogisticRegression', mlp: 'MLPClassifier' },
  regression: { 'linear-regression': 'LinearRegression', mlp: 'MLPRegressor' },
};

const cli = new Command('bench-tabular-defaults')
  .option('--repeats <n>', 'train/test splits per data set (random_state 0..n-1)', (v) => Number.parseInt(v, 10), 3)
  .option('--only <names>', 'comma-separated data sets to run (default: all)')
  .option('--write-results', 'write the table into bench/RESULTS.md')
  .parse();
const options = cli.opts<{ repeats: number; only?: string; writeResults?: boolean }>();

const loadAtStart = os.loadavg()[0]!;
const work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-bench-defaults-'));
try {
  const peerRows = await runPeer(work, options.repeats);
  const only = options.only?.split(',');
  const selected = peerRows.filter((row) => only === undefined || only.includes(row.dataset));
  const splits = [...new Map(selected.map((row) => [`${row.dataset}/${row.repeat}`, row])).values()];
  const ours: { dataset: string; repeat: number; model: string; result: Score }[] = [];
  for (const split of splits) {
    const folder = path.join(work, split.dataset, String(split.repeat));
    const algorithms = split.kind === 'classification' ? ['logistic-regression', 'mlp'] : ['linear-regression', 'mlp'];
    for (const algorithm of algorithms) {
      const result = await trainAndScore(folder, algorithm, split.kind);
      ours.push({ dataset: split.dataset, repeat: split.repeat, model: algorithm, result });
      process.stderr.write(`${split.dataset} #${split.repeat} ${algorithm}: ${result.score.toFixed(4)} in ${result.seconds.toFixed(2)} s\n`);
    }
  }
  const table = renderTable(selected, ours, options.repeats);
  process.stdout.write(`${table}\n`);
  if (options.writeResults) {
    await replaceResultsSection(RESULTS_FILE, 'Tabular defaults against scikit-learn', sectionText(table, options.repeats));
    process.stderr.write(`wrote ${path.relative(process.cwd(), RESULTS_FILE)}\n`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

function runPeer(out: string, repeats: number): Promise<PeerRow[]> {
  const child = spawn('/usr/bin/python3', [path.join(import.meta.dirname, 'sklearn_peer.py'), out, String(repeats)], {
    env: peerEnvironment(), stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rows: PeerRow[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => rows.push(JSON.parse(line) as PeerRow));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(rows) : reject(new Error(`sklearn_peer.py exited with ${code}`))));
  });
}

/** One runtime training run on train.csv with only `algorithm` set, scored on test.csv. */
async function trainAndScore(folder: string, algorithm: string, kind: PeerRow['kind']): Promise<Score> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'modelstack-bench-job-'));
  try {
    const paths = runtimePaths(root);
    await mkdir(path.dirname(paths.hyperparameters), { recursive: true });
    // linnerud's targets are small integers, which the task inference would call classes: say regression there.
    const task = kind === 'regression' && algorithm === 'mlp' ? { task: 'regression' } : {};
    await writeFile(paths.hyperparameters, JSON.stringify({ algorithm, ...task }));
    await mkdir(paths.channel('train'), { recursive: true });
    await symlink(path.join(folder, 'train.csv'), path.join(paths.channel('train'), 'train.csv'));
    const notes: string[] = [];
    const started = performance.now();
    await runTraining(paths, { onEvent: (event) => { if (event.kind === 'note') notes.push(event.text); } });
    const seconds = (performance.now() - started) / 1000;
    const test = parseCsv(await readFile(path.join(folder, 'test.csv'), 'utf8'));
    const model = await InferenceModel.load(paths.model, { threads: 1 });
    try {
      const output = await model.predict(Float32Array.from(test.features), test.labels.length);
      const predictions = model.outputInterpreter.interpret(output, test.labels.length);
      if (kind === 'classification') {
        const correct = predictions.filter((p, i) => typeof p === 'object' && 'label' in p && Number(p.label) === test.labels[i]).length;
        return { score: correct / test.labels.length, seconds, notes };
      }
      const squared = predictions.reduce<number>((sum, p, i) => sum + (Number(p) - test.labels[i]!) ** 2, 0);
      return { score: Math.sqrt(squared / test.labels.length), seconds, notes };
    } finally {
      await model.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function parseCsv(text: string): { features: number[]; labels: number[] } {
  const lines = text.trim().split('\n').slice(1);
  const features: number[] = [];
  const labels: number[] = [];
  for (const line of lines) {
    const values = line.split(',').map(Number);
    labels.push(values[0]!);
    features.push(...values.slice(1));
  }
  return { features, labels };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function range(values: readonly number[], digits: number): string {
  return `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;
}

function renderTable(peer: readonly PeerRow[], ours: readonly { dataset: string; repeat: number; model: string; result: Score }[], repeats: number): string {
  const lines = [
    '| data set (rows x features) | metric | scikit-learn linear | s | scikit-learn MLP | s | modelstack logistic/linear | s | modelstack mlp | s | best vs best (the goal) | same model vs same model |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const dataset of [...new Set(peer.map((row) => row.dataset))]) {
    const rows = peer.filter((row) => row.dataset === dataset);
    const first = rows[0]!;
    const classification = first.kind === 'classification';
    const digits = classification ? 3 : 2;
    const scoreOf = (row: PeerRow) => (classification ? row.accuracy! : row.rmse!);
    const repeatsOf = [...new Set(rows.map((row) => row.repeat))];
    const ourModels = Object.keys(PEER_OF[first.kind]);
    const ourRuns = (model: string) => ours.filter((o) => o.dataset === dataset && o.model === model);
    if (ourModels.some((model) => ourRuns(model).length === 0)) continue;
    const cells: string[] = [];
    const sameModel: string[] = [];
    for (const model of ourModels) {
      const peerRows = rows.filter((row) => row.model === PEER_OF[first.kind][model]);
      cells.push(cell(peerRows.map(scoreOf), digits), mean(peerRows.map((row) => row.seconds)).toFixed(2));
    }
    for (const model of ourModels) {
      const runs = ourRuns(model).map((o) => o.result);
      cells.push(cell(runs.map((r) => r.score), digits), mean(runs.map((r) => r.seconds)).toFixed(2));
      const peerMean = mean(rows.filter((row) => row.model === PEER_OF[first.kind][model]).map(scoreOf));
      sameModel.push(`${model === 'mlp' ? 'mlp' : model.split('-')[0]} ${gap(mean(runs.map((r) => r.score)), peerMean, classification)}`);
    }
    // The yardstick, per split then averaged: classification the better of each side's two
    // models; regression linear-regression against LinearRegression.
    const best = (scores: number[]) => (classification ? Math.max(...scores) : scores[0]!);
    const peerBest = mean(repeatsOf.map((repeat) => best(ourModels.map((m) => scoreOf(rows.find((row) => row.repeat === repeat && row.model === PEER_OF[first.kind][m])!)))));
    const ourBest = mean(repeatsOf.map((repeat) => best(ourModels.map((m) => ourRuns(m).find((o) => o.repeat === repeat)!.result.score))));
    const within = classification ? ourBest >= peerBest - 0.01 : ourBest <= peerBest * 1.02;
    lines.push(
      `| ${dataset} (${first.rows} x ${first.features}) | ${classification ? 'accuracy' : 'RMSE'} | ${cells.join(' | ')} | ${ourBest.toFixed(digits)} vs ${peerBest.toFixed(digits)}: ${gap(ourBest, peerBest, classification)}${within ? '' : ' (outside)'} | ${sameModel.join('; ')} |`,
    );
  }
  return `${lines.join('\n')}\n\nMeans over ${repeats} 75/25 splits (stratified for classification; random_state 0..${repeats - 1}), range in brackets; seconds are the mean training time per split.`;
}

function cell(scores: readonly number[], digits: number): string {
  return `${mean(scores).toFixed(digits)} (${range(scores, digits)})`;
}

/** Ours against scikit-learn's: accuracy points, or RMSE percent (positive = worse). */
function gap(ours: number, peer: number, classification: boolean): string {
  return classification ? `${((ours - peer) * 100).toFixed(1)} pt` : `${(((ours - peer) / peer) * 100).toFixed(1)}%`;
}

function sectionText(table: string, repeats: number): string {
  return [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.availableParallelism()} cores shared with other work; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end: the seconds are one noisy sample, the accuracies are deterministic), Node ${process.versions.node}, scikit-learn from Debian's python3-sklearn.`,
    `Command: \`npm run bench:defaults -- --repeats ${repeats} --write-results\`.`,
    '',
    'This runtime with only `algorithm` set, against scikit-learn\'s defaults (StandardScaler, then LogisticRegression() and MLPClassifier(), or LinearRegression() and MLPRegressor()) on every data set scikit-learn ships (linnerud\'s three targets as three sets). "best vs best" is the goal: classification, the better of each side\'s two models per split; regression, linear-regression against LinearRegression; "outside" marks a gap beyond 1 point / 2%. "same model" compares each of ours with its scikit-learn counterpart (RMSE percent: positive is worse).',
    '',
    table,
  ].join('\n');
}
