/**
 * `modelstack train data.csv | head -3`: the reader of stdout leaves while the command still
 * prints. Each command that prints as it works must end quietly (exit 141, as SIGPIPE would end
 * it; no stack trace) and clean up after itself. The tests close the child's stdout before it
 * writes anything, so its first write meets a closed pipe.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_RUNTIME_BIN, REPO_ROOT, runCli, type CliProcess } from '../serve/fixtures/spawn-cli.ts';
import { fixtureArtifacts, startLocalServer, type FixtureArtifacts, type LocalServer } from '../serve/fixtures/local-server.ts';

let work: string;
let csv: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-closed-stdout-'));
  csv = path.join(work, 'train.csv');
  await writeFile(csv, `y,x\n${Array.from({ length: 40 }, (_, i) => `${2 * i + 1},${i}`).join('\n')}\n`);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Starts the command with its stdout already closed by the reader. */
function runWithClosedStdout(args: readonly string[], env: NodeJS.ProcessEnv = {}, bin?: string): CliProcess {
  const run = runCli(args, env, bin);
  run.child.stdout!.destroy();
  return run;
}

function expectQuietExit(stderr: string): void {
  expect(stderr).not.toMatch(/EPIPE|Unhandled 'error' event|\n\s+at /);
}

describe('a closed stdout', () => {
  it('ends `modelstack train` quietly with 141, removes its temporary job and writes no archive', async () => {
    const tmp = await mkdtemp(path.join(work, 'tmp-'));
    const archive = path.join(work, 'never.tar.gz');
    // Epochs enough to still be running when the first write fails: the run must stop, not finish.
    const train = runWithClosedStdout(['train', csv, '--hp', 'epochs=5000', '--hp', 'early_stopping_patience=0', '--output', archive], { TMPDIR: tmp });
    expect(await train.exited, train.stderr()).toBe(141);
    expectQuietExit(train.stderr());
    expect(train.stderr()).not.toMatch(/^modelstack:/m);
    expect((await readdir(tmp)).filter((name) => name.startsWith('modelstack-train-'))).toEqual([]);
    expect(existsSync(archive)).toBe(false);
  });

  it('stops `model-runtime train` as SIGTERM does: a checkpoint to resume from, exit 141, no stack trace', async () => {
    const root = path.join(work, 'opt-ml');
    await mkdir(path.join(root, 'input', 'data', 'train'), { recursive: true });
    await mkdir(path.join(root, 'input', 'config'), { recursive: true });
    await writeFile(path.join(root, 'input', 'config', 'hyperparameters.json'), '{"epochs": "5000", "early_stopping_patience": "0"}');
    await writeFile(path.join(root, 'input', 'data', 'train', 'train.csv'), `y,x\n${Array.from({ length: 40 }, (_, i) => `${i},${i}`).join('\n')}\n`);
    const train = runWithClosedStdout(['train'], { MODEL_RUNTIME_ROOT: root, MODEL_RUNTIME_THREADS: '1' }, MODEL_RUNTIME_BIN);
    expect(await train.exited, train.stderr()).toBe(141);
    expectQuietExit(train.stderr());
    expect(train.stderr()).toMatch(/stdout closed: writing a checkpoint, then stopping/);
    expect(await readdir(path.join(root, 'checkpoints'))).toContain('checkpoint.json');
    expect(existsSync(path.join(root, 'model'))).toBe(false);
    expect(existsSync(path.join(root, 'output', 'failure'))).toBe(false);
  });

  it('ends `npm run demo` quietly with 141 and leaves no temporary folder', async () => {
    const tmp = await mkdtemp(path.join(work, 'tmp-'));
    const demo = runWithClosedStdout([path.join(REPO_ROOT, 'bin', 'demo.ts')], { TMPDIR: tmp }, path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'));
    expect(await demo.exited, demo.stderr()).toBe(141);
    expectQuietExit(demo.stderr());
    expect((await readdir(tmp)).filter((name) => name.startsWith('modelstack-'))).toEqual([]);
  });

  describe('modelstack invoke', () => {
    let artifacts: FixtureArtifacts;
    let server: LocalServer;
    beforeAll(async () => {
      artifacts = await fixtureArtifacts();
      server = await startLocalServer(artifacts.regression);
    });
    afterAll(async () => {
      await server.close();
      await artifacts.remove();
    });

    it('ends quietly with 141 when the answer cannot be printed', async () => {
      const invoke = runWithClosedStdout(['invoke', 'local', '--local', server.url, '--body', '{"instances": [[1, 2]]}']);
      expect(await invoke.exited, invoke.stderr()).toBe(141);
      expectQuietExit(invoke.stderr());
      expect(server.log.map((entry) => entry.status)).toEqual([200]); // the request itself was made
    });
  });
});
