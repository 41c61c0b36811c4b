/**
 * The search itself (bin/cli/tune/search.ts) with real trial processes: trials running at once
 * have their own job folders and seeds, and successive halving stops a trial that falls behind.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSearchSpace } from '../../model-runtime/src/contract/search-space.ts';
import { runSearch, sampleTrials, type TrialRecord } from '../../bin/cli/tune/search.ts';
import { linearRegressionCsv } from './fixtures/synthetic-tables.ts';

let work: string;
let data: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-tune-search-'));
  data = path.join(work, 'linear.csv');
  await writeFile(data, linearRegressionCsv(300, 5));
  process.env.MODEL_RUNTIME_THREADS = '1';
});
afterAll(async () => {
  delete process.env.MODEL_RUNTIME_THREADS;
  await rm(work, { recursive: true, force: true });
});

const fixed = { algorithm: 'linear-regression', optimizer: 'sgd', momentum: '0', validation_fraction: '0.2', early_stopping_patience: '0' };
const objective = { metric: 'validation_loss', goal: 'minimize' } as const;

describe('runSearch', () => {
  it('runs P trials at once, each in its own job folder with its own seed, and their models differ', async () => {
    const workDir = await mkdtemp(path.join(work, 'parallel-'));
    let runningNow = 0;
    let mostAtOnce = 0;
    const seen = new Map<number, string>();
    const result = await runSearch({
      data, ranges: parseSearchSpace(['batch_size=16,32']), fixed: { ...fixed, epochs: '2', learning_rate: '0.05' }, objective,
      trials: 4, parallel: 2, seed: 9, halving: false, workDir,
      onChange: (trial) => {
        const previous = seen.get(trial.index);
        seen.set(trial.index, trial.state);
        if (trial.state === 'running' && previous !== 'running') runningNow++;
        if (previous === 'running' && trial.state !== 'running') runningNow--;
        mostAtOnce = Math.max(mostAtOnce, runningNow);
      },
    });
    expect(result.trials.map((t) => t.state)).toEqual(['done', 'done', 'done', 'done']);
    expect(mostAtOnce).toBe(2);
    const roots = result.trials.map((t) => t.root);
    expect(new Set(roots).size).toBe(4);
    const seeds = result.trials.map((t) => t.seed);
    expect(new Set(seeds).size).toBe(4);
    for (const trial of result.trials) {
      // What the trial's process was given, and what its model records, is its own seed.
      const given = JSON.parse(await readFile(path.join(trial.root, 'input', 'config', 'hyperparameters.json'), 'utf8')) as Record<string, string>;
      expect(given).toMatchObject({ seed: String(trial.seed), batch_size: trial.sampled.batch_size });
      const model = JSON.parse(await readFile(path.join(trial.modelDir!, 'model.json'), 'utf8')) as { hyperparameters: Record<string, string> };
      expect(model.hyperparameters.seed).toBe(String(trial.seed));
      expect(trial.modelDir!.startsWith(`${trial.root}${path.sep}`)).toBe(true);
    }
    const digests = await Promise.all(result.trials.map(async (t) => (JSON.parse(await readFile(path.join(t.modelDir!, 'MANIFEST.json'), 'utf8')) as { digest: string }).digest));
    expect(new Set(digests).size).toBe(4);
  }, 60_000);

  it('stops a trial that reaches a rung behind the best third of those before it', async () => {
    const ranges = parseSearchSpace(['learning_rate=0.1,0.000001']);
    // A seed whose first three trials train (0.1) and whose fourth barely moves (1e-6); one at a time, so the rung is filled in order.
    const seed = Array.from({ length: 200 }, (_, s) => s).find((s) =>
      sampleTrials(ranges, 4, s).map((t) => t.learning_rate).join() === '0.1,0.1,0.1,0.000001')!;
    expect(seed).toBeDefined();
    const workDir = await mkdtemp(path.join(work, 'halving-'));
    const result = await runSearch({
      data, ranges, fixed: { ...fixed, epochs: '3' }, objective, trials: 4, parallel: 1, seed, halving: true, workDir, onChange: () => undefined,
    });
    const states = result.trials.map((t: TrialRecord) => t.state);
    expect(states.slice(0, 3)).not.toContain('failed');
    expect(result.trials[3]).toMatchObject({ state: 'stopped early', epoch: 1, reason: 'behind the best 1/3 at epoch 1', modelDir: null });
    expect(result.best?.sampled.learning_rate).toBe('0.1');
  }, 60_000);
});
