import { lstatSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { x as extractTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainCommand, trainModel } from '../../bin/cli/train.ts';
import type { TabularModelDescription } from '../../model-runtime/src/artifact/model-description.ts';
import type { TrainingEvent } from '../../model-runtime/src/train/training-events.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-cli-output-'));
  await writeFile(path.join(work, 'train.csv'), 'y,x\n1,0\n3,1\n5,2\n7,3\n9,4\n');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('modelstack train --output', () => {
  it('refuses a folder as the archive before training, naming a file that would do', async () => {
    const events: TrainingEvent[] = [];
    // Before: the whole run trained, then failed with "EISDIR: illegal operation on a directory".
    await expect(trainModel(path.join(work, 'train.csv'), { hyperparameters: { epochs: '1', validation_fraction: '0' }, output: work, onEvent: (event) => events.push(event) }))
      .rejects.toThrow(`--output ${work} is a folder; name the archive to write, e.g. ${path.join(work, 'model.tar.gz')}`);
    expect(events).toEqual([]);
    expect((await readdir(work)).sort()).toEqual(['train.csv']);
  });
});

describe('modelstack train <data>', () => {
  it('links the data into the temporary job rather than copying it (larger-than-memory data would be copied whole)', async () => {
    const tmp = await mkdtemp(path.join(work, 'tmp-'));
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = tmp; // os.tmpdir(): where trainModel lays out its job
    const seen: { name: string; link: boolean }[] = [];
    try {
      await trainModel(path.join(work, 'train.csv'), {
        hyperparameters: { epochs: '1', validation_fraction: '0' },
        output: path.join(work, 'linked.tar.gz'),
        // The first event comes from the running job: look at its training channel then.
        onEvent: () => {
          if (seen.length > 0) return;
          for (const job of readdirSync(tmp)) {
            const channel = path.join(tmp, job, 'input', 'data', 'train');
            for (const name of readdirSync(channel)) seen.push({ name, link: lstatSync(path.join(channel, name)).isSymbolicLink() });
          }
        },
      });
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
    expect(seen).toEqual([{ name: 'train.csv', link: true }]);
    expect((await readdir(tmp)).filter((name) => name.startsWith('modelstack-train-'))).toEqual([]); // removed after
  });
});

describe('modelstack train without --algorithm', () => {
  it('fits the runtime default (mlp), so text labels train as a classifier rather than failing as regression', async () => {
    const rows = ['species,a,b'];
    for (let i = 0; i < 40; i++) rows.push(`${i % 2 === 0 ? 'cat' : 'dog'},${i % 2 === 0 ? 1 + (i % 5) * 0.01 : -1},${i % 3}`);
    await writeFile(path.join(work, 'pets.csv'), `${rows.join('\n')}\n`);
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (printed.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      await trainCommand().parseAsync([path.join(work, 'pets.csv'), '--hp', 'epochs=2', '--hp', 'validation_fraction=0', '-o', path.join(work, 'pets.tar.gz')], { from: 'user' });
    } finally {
      process.stdout.write = write;
    }
    const out = printed.join('');
    expect(out).toMatch(/^model: .*pets\.tar\.gz$/m);
    // The archive says which model was fitted: the default, not merely one that succeeded.
    const unpacked = await mkdtemp(path.join(work, 'pets-'));
    await extractTar({ file: path.join(work, 'pets.tar.gz'), cwd: unpacked, strict: true });
    const description = JSON.parse(await readFile(path.join(unpacked, 'model.json'), 'utf8')) as TabularModelDescription;
    expect(description.algorithm).toBe('mlp');
    expect(description.hyperparameters.algorithm).toBe('mlp');
    expect(description.task).toBe('binary');
    expect(description.labels).toEqual(['cat', 'dog']);
  });
});
