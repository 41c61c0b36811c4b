/**
 * `modelstack train corpus.txt --algorithm language-model` then `modelstack generate
 * model.tar.gz "prompt"`: the continuation on stdout, greedy by default, reproducible under
 * --seed; --repetition-penalty reshapes greedy decoding without turning sampling on; a model that
 * is not a language model is refused by name.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../serve/fixtures/spawn-cli.ts';

let work: string;
let archive: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-generate-test-'));
  await writeFile(path.join(work, 'corpus.txt'), 'hello world. '.repeat(60));
  archive = path.join(work, 'lm.tar.gz');
  const hp = ['tokenizer=char', 'n_layer=1', 'n_head=2', 'n_embd=32', 'context_length=16', 'batch_size=16', 'max_steps=150', 'eval_interval=50', 'learning_rate=0.01', 'warmup_steps=10', 'seed=1'];
  const train = runCli(['train', path.join(work, 'corpus.txt'), '--algorithm', 'language-model', ...hp.flatMap((h) => ['--hp', h]), '--output', archive]);
  expect(await train.exited, train.stderr()).toBe(0);
  // Not a terminal: the metric lines as SageMaker's regexes read them.
  expect(train.stdout()).toMatch(/^train_loss=\S+; validation_loss=\S+; validation_perplexity=\S+; tokens_per_second=\S+;$/m);
}, 120_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('modelstack generate', () => {
  it('prints the greedy continuation', async () => {
    const generate = runCli(['generate', archive, 'hello wor', '--max-new-tokens', '8']);
    expect(await generate.exited, generate.stderr()).toBe(0);
    expect(generate.stdout()).toBe('ld. hell\n');
  });

  it('applies --repetition-penalty to greedy decoding: the same text each run, not the unpenalised one', async () => {
    const penalised = async (): Promise<string> => {
      const run = runCli(['generate', archive, 'hello wor', '--max-new-tokens', '8', '--repetition-penalty', '0.05']);
      expect(await run.exited, run.stderr()).toBe(0);
      return run.stdout();
    };
    const first = await penalised();
    expect(first).not.toBe('ld. hell\n');
    expect(await penalised()).toBe(first);
  });

  it('samples reproducibly under --seed', async () => {
    const sampled = async (seed: string): Promise<string> => {
      const run = runCli(['generate', archive, 'hello', '--max-new-tokens', '20', '--temperature', '3', '--seed', seed]);
      expect(await run.exited, run.stderr()).toBe(0);
      return run.stdout();
    };
    const first = await sampled('4');
    expect(await sampled('4')).toBe(first);
    // Hot sampling strays from the sentence the greedy continuation follows (and may end early at <|endoftext|>).
    expect(first).not.toBe('o world. hello world. \n');
  });

  it('refuses a tabular model and bad options by name', async () => {
    const csv = path.join(work, 't.csv');
    await writeFile(csv, `y,x\n${Array.from({ length: 40 }, (_, i) => `${i},${i}`).join('\n')}\n`);
    const tabular = path.join(work, 'tabular.tar.gz');
    const train = runCli(['train', csv, '--algorithm', 'linear-regression', '--hp', 'epochs=1', '--output', tabular]);
    expect(await train.exited, train.stderr()).toBe(0);
    const refused = runCli(['generate', tabular, 'hello']);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toMatch(/is a linear-regression model; generate needs one trained with --algorithm language-model/);
    const bad = runCli(['generate', archive, 'hello', '--temperature', '0']);
    expect(await bad.exited).not.toBe(0);
    expect(bad.stderr()).toMatch(/temperature must be a number above 0, not '0'/);
    const badPenalty = runCli(['generate', archive, 'hello', '--repetition-penalty', '0']);
    expect(await badPenalty.exited).not.toBe(0);
    expect(badPenalty.stderr()).toMatch(/repetition-penalty must be a number from 0\.01 to 100 \(1 = off\), not '0'/);
  });
});
