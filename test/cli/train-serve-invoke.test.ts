import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../serve/fixtures/spawn-cli.ts';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-cli-test-'));
  // y = 2x + 1 with a little deterministic noise; label first, as SageMaker's CSV convention has it.
  const lines = ['y,x'];
  for (let i = 0; i < 300; i++) {
    const x = -5 + (10 * i) / 299;
    lines.push(`${2 * x + 1 + 0.05 * Math.sin(i * 12.9898)},${x}`);
  }
  await writeFile(path.join(work, 'train.csv'), `${lines.join('\n')}\n`);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('modelstack train -> serve -> invoke', () => {
  it('trains to model.tar.gz with its digest and a loss curve, serves it, and answers through the AWS SDK', async () => {
    const archive = path.join(work, 'out', 'model.tar.gz');
    const train = runCli(['train', path.join(work, 'train.csv'), '--algorithm', 'linear-regression', '--hp', 'epochs=25', '--hp', 'learning_rate=0.05', '--output', archive]);
    expect(await train.exited, train.stderr()).toBe(0);
    // Not a terminal: plain metric lines, as SageMaker's regexes read them.
    expect(train.stdout()).toMatch(/^epoch=1; train_loss=\S+; validation_loss=\S+;/m);
    const sha256 = /^sha256: ([0-9a-f]{64})$/m.exec(train.stdout())?.[1];
    expect(sha256).toBe(createHash('sha256').update(await readFile(archive)).digest('hex'));
    expect(train.stdout()).toMatch(/^model digest: [0-9a-f]{64}$/m);
    const svg = await readFile(path.join(work, 'out', 'model.loss.svg'), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toMatch(/<polyline class="train_loss"[^>]* points="[\d.]+,[\d.]+ [\d.]+,[\d.]+/);
    expect(svg).toMatch(/<polyline class="validation_loss"/);

    const serve = runCli(['serve', archive, '--port', '0']);
    try {
      const listening = await serve.waitForLog((entry) => entry.msg === 'listening');
      await serve.waitForLog((entry) => entry.msg === 'model loaded');
      const url = `http://127.0.0.1:${listening.port as number}`;

      const invoke = runCli(['invoke', 'local-demo', '--local', url, '--body', '{"instances": [[0], [1], [3]]}', '--custom-attributes', 'run=cli-test', '--verbose']);
      expect(await invoke.exited, invoke.stderr()).toBe(0);
      const { predictions } = JSON.parse(invoke.stdout()) as { predictions: number[] };
      [1, 3, 7].forEach((truth, i) => expect(Math.abs(predictions[i]! - truth)).toBeLessThan(0.2));
      expect(invoke.stderr()).toMatch(/InvokedProductionVariant: AllTraffic/);
      expect(invoke.stderr()).toMatch(/CustomAttributes: run=cli-test/);

      const csv = runCli(['invoke', 'local-demo', '--local', url, '--body', '2\n-1\n', '--content-type', 'text/csv']);
      expect(await csv.exited).toBe(0);
      expect(csv.stdout().trim().split('\n').map(Number).map((value, i) => Math.abs(value - [5, -1][i]!) < 0.2)).toEqual([true, true]);

      const wrong = runCli(['invoke', 'local-demo', '--local', url, '--body', '[[1, 2]]']);
      expect(await wrong.exited).toBe(1);
      expect(wrong.stderr()).toMatch(/the model answered 400: .*expected rows of 1 feature \[x\]/);

      serve.child.kill('SIGTERM');
      expect(await serve.exited).toBe(0);
    } finally {
      serve.child.kill('SIGKILL');
    }
  });
});

describe('modelstack errors and help', () => {
  it('explains each command in --help', async () => {
    const helps = await Promise.all(['train', 'serve', 'invoke'].map(async (command) => {
      const help = runCli([command, '--help']);
      expect(await help.exited).toBe(0);
      expect(help.stdout()).toMatch(/Examples:/);
      return help.stdout();
    }));
    expect(helps[0]).toMatch(/--hp <key=value>/);
    expect(helps[0]).toMatch(/linear-regression/);
    expect(helps[1]).toMatch(/--port <port>/);
    expect(helps[2]).toMatch(/--local <url>/);
  });

  it('names a missing data file, a bad key=value and a bad hyperparameter value', async () => {
    const missing = runCli(['train', path.join(work, 'nope.csv')]);
    expect(await missing.exited).toBe(1);
    expect(missing.stderr()).toMatch(/nope\.csv does not exist/);

    const pair = runCli(['train', path.join(work, 'train.csv'), '--hp', 'epochs']);
    expect(await pair.exited).not.toBe(0);
    expect(pair.stderr()).toMatch(/'epochs' is not key=value; write e\.g\. --hp epochs=50/);

    const value = runCli(['train', path.join(work, 'train.csv'), '--hp', 'epochs=0', '--output', path.join(work, 'x.tar.gz')]);
    expect(await value.exited).toBe(1);
    expect(value.stderr()).toMatch(/epochs.*expected integer 1 to/);
  });

  it('names a model that does not exist and a server that is not listening', async () => {
    const serve = runCli(['serve', path.join(work, 'missing.tar.gz')]);
    expect(await serve.exited).toBe(1);
    expect(serve.stderr()).toMatch(/missing\.tar\.gz does not exist/);

    const port = runCli(['serve', work], { SAGEMAKER_BIND_TO_PORT: 'abc' });
    expect(await port.exited).toBe(1);
    expect(port.stderr()).toMatch(/SAGEMAKER_BIND_TO_PORT is 'abc'; expected a whole number from 0 to 65535/);

    const invoke = runCli(['invoke', 'x', '--local', 'http://127.0.0.1:9', '--body', '[1]']);
    expect(await invoke.exited).toBe(1);
    expect(invoke.stderr()).toMatch(/nothing is listening at http:\/\/127\.0\.0\.1:9/);
  });
});
