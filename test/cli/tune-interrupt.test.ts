/**
 * Ctrl-C during `modelstack tune` (SIGINT to the tuner's process): the running trials are stopped
 * with SIGTERM and waited for, and what finished is kept: results.csv, the plot and the best archive.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSearchSpace } from '../../model-runtime/src/contract/search-space.ts';
import { sampleTrials } from '../../bin/cli/tune/search.ts';
import { MODELSTACK_BIN, REPO_ROOT } from '../serve/fixtures/spawn-cli.ts';
import { linearRegressionCsv, readCsvObjects } from './fixtures/synthetic-tables.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-tune-sigint-'));
  await writeFile(path.join(work, 'linear.csv'), linearRegressionCsv(300, 2));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('modelstack tune, interrupted', () => {
  it('stops the running trials on SIGINT, keeps the finished one, and writes results.csv and its archive', async () => {
    const range = 'epochs=1,5000';
    // Trial 1 is quick, trial 2 long: a seed for which the sampling gives that order.
    const seed = Array.from({ length: 200 }, (_, s) => s).find((s) => sampleTrials(parseSearchSpace([range]), 3, s).map((t) => t.epochs).join() === '1,5000,5000')!;
    expect(seed).toBeDefined();
    const output = path.join(work, 'out');
    const child = spawn(process.execPath, [
      MODELSTACK_BIN, 'tune', path.join(work, 'linear.csv'), '--algorithm', 'linear-regression', '--trials', '3', '--parallel', '2', '--no-halving',
      '--seed', String(seed), '--hp-range', range, '--hp', 'early_stopping_patience=0', '--output', output,
    ], { cwd: REPO_ROOT, env: { ...process.env, MODEL_RUNTIME_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        // Not a TTY: one line per state change.
        if (/^trial 1 done:/m.test(stdout)) resolve();
      });
    });
    const interruptedAt = Date.now();
    child.kill('SIGINT');
    const code = await exited;
    expect(code, stderr).toBe(130);
    // The 5000-epoch trial was stopped, not waited out.
    expect(Date.now() - interruptedAt).toBeLessThan(30_000);
    expect(stderr).toContain('tune: interrupted: stopping the running trials (SIGTERM), then writing what finished');
    const rows = readCsvObjects(await readFile(path.join(output, 'results.csv'), 'utf8'));
    expect(rows[0]).toMatchObject({ trial: '1', epochs: '1', state: 'done' });
    expect(rows[1]).toMatchObject({ trial: '2', state: 'interrupted', reason: 'interrupted (Ctrl-C)' });
    expect(Number(rows[1]!.epochs)).toBeLessThan(5000);
    expect(['interrupted', 'pending']).toContain(rows[2]!.state);
    expect((await stat(path.join(output, 'model.tar.gz'))).size).toBeGreaterThan(0);
    expect(stdout).toMatch(/^best: trial 1 \(epochs=1\) validation_loss=/m);
  }, 60_000);
});
