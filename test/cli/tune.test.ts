/**
 * `modelstack tune` as a user runs it (the real command, in a child process): a planted optimum is
 * found, diverging trials are reported with the runtime's reason without stopping the others, and
 * bad input exits 2 with a message naming the problem.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { x as extractTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSearchSpace } from '../../model-runtime/src/contract/search-space.ts';
import { sampleTrials } from '../../bin/cli/tune/search.ts';
import { tuneSettings, type TuneOptions } from '../../bin/cli/tune/tune-settings.ts';
import { MODELSTACK_BIN, REPO_ROOT } from '../serve/fixtures/spawn-cli.ts';
import { linearRegressionCsv, readCsvObjects } from './fixtures/synthetic-tables.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-tune-'));
  await writeFile(path.join(work, 'linear.csv'), linearRegressionCsv(400, 11));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function tune(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MODELSTACK_BIN, 'tune', ...args], { cwd: REPO_ROOT, env: { ...process.env, MODEL_RUNTIME_THREADS: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

interface ResultRow {
  trial: string;
  learning_rate: string;
  seed: string;
  validation_loss: string;
  state: string;
  reason: string;
}

describe('modelstack tune', () => {
  it('finds the one learning-rate range that trains, reports diverged trials with their reason, and writes results, plot and best archive', async () => {
    // Plain SGD for 4 epochs on standardised data: below ~1e-2 the weights barely move, above ~2 the loss diverges.
    const space = ['learning_rate=1e-5:10:log'];
    const sampled = sampleTrials(parseSearchSpace(space), 10, 1).map((t) => Number(t.learning_rate));
    // The planted optimum is reachable at all: some trial samples inside it (the sampling is seeded).
    expect(sampled.some((lr) => lr >= 0.03 && lr <= 1)).toBe(true);
    expect(sampled.some((lr) => lr < 1e-3)).toBe(true);
    expect(sampled.some((lr) => lr > 3)).toBe(true);
    const output = path.join(work, 'planted');
    const run = await tune([
      path.join(work, 'linear.csv'), '--algorithm', 'linear-regression', '--trials', '10', '--parallel', '2', '--seed', '1', '--output', output,
      '--hp-range', space[0]!, '--hp', 'optimizer=sgd', '--hp', 'momentum=0', '--hp', 'epochs=4', '--hp', 'early_stopping_patience=0',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const rows = readCsvObjects(await readFile(path.join(output, 'results.csv'), 'utf8')) as unknown as ResultRow[];
    expect(rows.map((r) => Number(r.learning_rate))).toEqual(sampled);
    const done = rows.filter((r) => r.state === 'done');
    const best = done.reduce((a, b) => (Number(b.validation_loss) < Number(a.validation_loss) ? b : a));
    expect(Number(best.learning_rate)).toBeGreaterThanOrEqual(0.03);
    expect(Number(best.learning_rate)).toBeLessThanOrEqual(2);
    // A trained linear fit of y = 2a - b + 0.5c + 0.1 noise: far below the untrained loss of ~1.
    expect(Number(best.validation_loss)).toBeLessThan(0.05);
    for (const slow of rows.filter((r) => Number(r.learning_rate) < 1e-3 && r.state === 'done')) expect(Number(slow.validation_loss)).toBeGreaterThan(0.3);
    // Diverging trials fail with the runtime's own failure line; the rest still ran.
    const failed = rows.filter((r) => r.state === 'failed');
    for (const large of rows.filter((r) => Number(r.learning_rate) > 3)) {
      expect(large.state === 'failed' || large.state === 'stopped early' || Number(large.validation_loss) > 0.3, JSON.stringify(large)).toBe(true);
    }
    for (const f of failed) {
      expect(Number(f.learning_rate)).toBeGreaterThan(1);
      expect(f.reason).toMatch(/^Training failed: the training loss became (Infinity|NaN) .*lower learning_rate/);
    }
    expect(rows.every((r) => ['done', 'failed', 'stopped early'].includes(r.state))).toBe(true);
    // The summary names the best trial, and the archive in the output folder is that trial's model.
    expect(run.stdout).toMatch(new RegExp(`^best: trial ${best.trial} \\(learning_rate=${best.learning_rate.replace('.', '\\.')}\\) validation_loss=`, 'm'));
    const extracted = path.join(work, 'best-model');
    await rm(extracted, { recursive: true, force: true });
    await mkdir(extracted);
    await extractTar({ file: path.join(output, 'model.tar.gz'), cwd: extracted });
    const description = JSON.parse(await readFile(path.join(extracted, 'model.json'), 'utf8')) as { hyperparameters: Record<string, string> };
    expect(description.hyperparameters).toMatchObject({ learning_rate: best.learning_rate, seed: best.seed, optimizer: 'sgd', algorithm: 'linear-regression' });
    const svg = await readFile(path.join(output, 'tuning.svg'), 'utf8');
    expect(svg).toContain('by learning_rate (log scale)');
    expect(svg.match(/<circle class="trial"/g)?.length).toBe(2 * rows.filter((r) => r.validation_loss !== '').length);
  }, 120_000);

  it.each([
    [['--hp-range', 'learning_rate=1e-4:abc'], "--hp-range: range learning_rate=1e-4:abc: the upper bound 'abc' is not a number"],
    [['--trials', '2', '--parallel', '3'], '--parallel 3 is more than --trials 2'],
  ])('refuses %j before any trial runs, with exit status 2', async (args, message) => {
    const output = path.join(work, 'refused');
    const run = await tune([path.join(work, 'linear.csv'), '--output', output, ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(await stat(output).catch(() => null)).toBeNull();
  }, 30_000);

  it.each([
    [{ objective: 'val_loss' }, "--objective: unknown objective 'val_loss'; choose one of"],
    [{ objective: 'cv_validation_loss_mean' }, 'is printed with cross-validation only: add --cv-folds k'],
    [{ cvFolds: '1' }, '--cv-folds 1 is not allowed; expected an integer 2 to 100'],
    [{ trials: '0' }, '--trials 0 is not allowed'],
    [{ hp: { learning_rate: '0.1' }, hpRange: ['learning_rate=1e-4:1e-1:log'] }, 'learning_rate is both fixed (--hp learning_rate=0.1) and searched'],
    [{ hp: { seed: '4' } }, '--hp seed is set by the tuner'],
    [{ hp: { validation_fraction: '0' } }, 'needs validation rows, but validation_fraction=0'],
    [{ algorithm: 'logistic-regression', hpRange: ['hidden_sizes=8|16'] }, 'trial 1 would fail: hyperparameter hidden_sizes does not apply to algorithm=logistic-regression; it applies to algorithm=mlp only'],
    [{ hpRange: ['batch_size=16,32', 'batch_size=64:128'] }, 'batch_size has two ranges'],
  ])('names the problem with %j', async (options, message) => {
    const defaults: TuneOptions = { trials: '4', objective: 'validation_loss', hpRange: [], hp: {}, seed: '0', halving: true, output: path.join(work, 'never') };
    await expect(tuneSettings(path.join(work, 'linear.csv'), { ...defaults, ...options })).rejects.toThrow(message);
  });

  it('holds out rows to score trials when nothing else says how, and maps the objective to the fold mean with --cv-folds', async () => {
    const defaults: TuneOptions = { trials: '4', objective: 'validation_accuracy', hpRange: [], hp: {}, seed: '0', halving: true, output: path.join(work, 'never') };
    const held = await tuneSettings(path.join(work, 'linear.csv'), defaults);
    expect(held.fixed).toEqual({ validation_fraction: '0.2' });
    expect(held.ranges.map((r) => r.name)).toEqual(['learning_rate', 'batch_size']);
    expect(held.parallel).toBe(2);
    const cv = await tuneSettings(path.join(work, 'linear.csv'), { ...defaults, cvFolds: '3' });
    expect(cv.fixed).toEqual({ cv_folds: '3' });
    expect(cv.objective).toEqual({ metric: 'cv_validation_accuracy_mean', goal: 'maximize' });
  });
});
