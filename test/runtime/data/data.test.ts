import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseHyperparameters } from '../../../model-runtime/src/contract/hyperparameters.ts';
import { runtimePaths, type RuntimePaths } from '../../../model-runtime/src/contract/paths.ts';
import { listChannelFiles } from '../../../model-runtime/src/data/channel-files.ts';
import { prepareData, type PreparedData } from '../../../model-runtime/src/data/dataset.ts';
import { TableReader, type Row } from '../../../model-runtime/src/data/table.ts';
import type { Batch } from '../../../model-runtime/src/data/batch.ts';

let root: string;
let paths: RuntimePaths;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'modelstack-data-'));
  paths = runtimePaths(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function put(channel: string, name: string, content: string | Uint8Array): Promise<void> {
  await mkdir(paths.channel(channel), { recursive: true });
  await writeFile(path.join(paths.channel(channel), name), content);
}

async function readRows(channel: string, labelColumn: string | null = null): Promise<{ rows: Row[]; reader: TableReader; log: string[] }> {
  const files = (await listChannelFiles(paths.channel(channel), channel, null))!;
  const log: string[] = [];
  const reader = new TableReader(labelColumn, null, (line) => log.push(line));
  const rows: Row[] = [];
  for await (const row of reader.rows(files)) rows.push(row);
  return { rows, reader, log };
}

async function prepare(hyperparameters: Record<string, string> = {}, maxInMemoryBytes = 1 << 26): Promise<{ data: PreparedData; log: string[] }> {
  const log: string[] = [];
  const data = await prepareData(paths, parseHyperparameters(hyperparameters), new Map(), { maxInMemoryBytes, log: (l) => log.push(l) });
  return { data, log };
}

async function collect(batches: AsyncGenerator<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const batch of batches) out.push(batch);
  return out;
}

describe('CSV', () => {
  it('reads a header row, label first by default', async () => {
    await put('train', 'a.csv', 'price,rooms,age\n100,3,10\n200,4,"5"\n');
    const { rows, reader, log } = await readRows('train');
    expect(reader.schema).toEqual({ label: 'price', features: ['rooms', 'age'] });
    expect(rows.map((r) => [r.label, ...r.features])).toEqual([['100', 3, 10], ['200', 4, 5]]);
    expect(rows.map((r) => r.line)).toEqual([2, 3]);
    expect(log[0]).toMatch(/read as CSV with a header row; label "price"/);
  });

  it('says how many features and files it read, in words that fit the count', async () => {
    await put('train', 'a.csv', 'y,x\n1,2\n3,4\n');
    const { log } = await readRows('train');
    expect(log[0]).toBe('data: train/a.csv read as CSV with a header row; label "y" (column 0); 1 feature: x');
    await put('train', 'a.csv', 'y,x\n1,2\n3\n');
    await expect(readRows('train')).rejects.toThrow('train/a.csv line 3: 1 column; expected 2 (the label and 1 feature, as in the header)');
    await put('train', 'a.csv', ['y,x', ...Array.from({ length: 20 }, (_, i) => `${i * 0.5},${i}`)].join('\n'));
    expect((await prepare()).log.join('\n')).toMatch(/^data: 20 training rows in 1 file; /m);
  });

  it('reads headerless data, including string class labels in the first column', async () => {
    await put('train', 'a.csv', 'cat,1.5,2\ndog,-3e-1,4\n');
    const { rows, reader } = await readRows('train');
    expect(reader.schema).toEqual({ label: 'label', features: ['feature_0', 'feature_1'] });
    expect(rows.map((r) => [r.label, ...r.features])).toEqual([['cat', 1.5, 2], ['dog', -0.3, 4]]);
  });

  it('takes the label from a named column or a 0-based index', async () => {
    await put('train', 'a.csv', 'x1,x2,y\n1,2,yes\n3,4,no\n');
    const named = await readRows('train', 'y');
    expect(named.reader.schema).toEqual({ label: 'y', features: ['x1', 'x2'] });
    expect(named.rows[1]!.label).toBe('no');
    await put('validation', 'b.csv', '1,2,yes\n');
    const indexed = await readRows('validation', '2');
    expect(indexed.rows[0]!.features).toEqual(Float64Array.from([1, 2]));
    await expect(readRows('train', 'z')).rejects.toThrow(/label_column "z" is not a column of train\/a.csv; its header has: x1, x2, y/);
  });

  it('names file, line and expectation for a malformed row', async () => {
    await put('train', 'a.csv', 'y,x1,x2\n1,2,3\n4,5\n');
    await expect(readRows('train')).rejects.toThrow('train/a.csv line 3: 2 columns; expected 3 (the label and 2 features, as in the header)');
    await put('train', 'a.csv', 'y,x1,x2\n1,2,3\n4,5,abc\n');
    await expect(readRows('train')).rejects.toThrow('train/a.csv line 3: feature "x2" is "abc"; expected a number');
    await put('train', 'a.csv', '1,2,3\n4,,6\n');
    await expect(readRows('train')).rejects.toThrow('train/a.csv line 2: feature "feature_0" is ""; expected a number');
    await put('train', 'a.csv', '1,2,3\n4,"5,6\n');
    await expect(readRows('train')).rejects.toThrow(/train\/a.csv.*not valid CSV/);
  });

  it('refuses a value beyond float32, the type model.onnx reads, instead of training a model that answers NaN', async () => {
    await put('train', 'a.csv', 'y,x1,x2\n1,2,3\n4,5,-1e39\n');
    await expect(readRows('train')).rejects.toThrow('train/a.csv line 3: feature "x2" is "-1e39"; expected a number within float32 range (magnitude at most 3.4e38)');
    await rm(paths.channel('train'), { recursive: true });
    await put('train', 'a.jsonl', '{"x": 1, "label": 1}\n{"x": 1e39, "label": 2}\n');
    await expect(readRows('train')).rejects.toThrow('train/a.jsonl line 2: "x" is 1e+39; expected a number within float32 range (magnitude at most 3.4e38)');
  });

  it('reads several files, gzip too, and checks they share the columns', async () => {
    await put('train', 'a.csv', 'y,x\n1,2\n');
    await put('train', 'b.csv.gz', gzipSync('y,x\n3,4\n'));
    await put('train', '.hidden', 'ignored');
    const { rows } = await readRows('train');
    expect(rows.map((r) => r.file)).toEqual(['train/a.csv', 'train/b.csv.gz']);
    await put('train', 'c.csv', 'y,z\n1,2\n');
    await expect(readRows('train')).rejects.toThrow('train/c.csv has feature "z" where the training data has "x"');
  });

  it('refuses a file whose format it cannot tell', async () => {
    await put('train', 'data.parquet', 'x');
    await expect(readRows('train')).rejects.toThrow(/cannot tell the format of train\/data.parquet: name it .csv or .jsonl/);
  });
});

describe('JSON Lines', () => {
  it('reads {"features": [...], "label": ...}', async () => {
    await put('train', 'a.jsonl', '{"features":[1,2],"label":"a"}\n\n{"features":[3,4],"label":"b"}\n');
    const { rows, reader } = await readRows('train');
    expect(reader.schema.features).toEqual(['feature_0', 'feature_1']);
    expect(rows.map((r) => [r.label, r.line])).toEqual([['a', 1], ['b', 3]]);
  });

  it('reads flat objects with a label key', async () => {
    await put('train', 'a.jsonl', '{"height":1.8,"weight":"80","target":1}\n{"weight":60,"height":1.6,"target":0}\n');
    const { rows, reader } = await readRows('train', 'target');
    expect(reader.schema).toEqual({ label: 'target', features: ['height', 'weight'] });
    expect(Array.from(rows[1]!.features)).toEqual([1.6, 60]);
  });

  it('names file, line and expectation for a malformed line', async () => {
    await put('train', 'a.jsonl', '{"features":[1,2],"label":1}\n{"features":[1],"label":1}\n');
    await expect(readRows('train')).rejects.toThrow('train/a.jsonl line 2: "features" has 1 values; expected an array of 2 numbers');
    await put('train', 'a.jsonl', '{"a":1,"label":1}\n{"a":"x","label":1}\n');
    await expect(readRows('train')).rejects.toThrow('train/a.jsonl line 2: "a" is "x"; expected a number');
    await put('train', 'a.jsonl', '{"a":1,"label":1}\n{"a":1}\n');
    await expect(readRows('train')).rejects.toThrow('train/a.jsonl line 2: no "label" key');
    await put('train', 'a.jsonl', '{"a":1,"label":1}\n{"a":1,\n');
    await expect(readRows('train')).rejects.toThrow(/train\/a.jsonl line 2: not valid JSON/);
  });
});

describe('prepareData', () => {
  const rowsOf = (n: number, label: (i: number) => string) =>
    ['y,x1,x2', ...Array.from({ length: n }, (_, i) => `${label(i)},${i},${(i * 7) % 5}`)].join('\n');

  it('infers classification from text labels and from few distinct integers, regression otherwise, and says so', async () => {
    await put('train', 'a.csv', rowsOf(40, (i) => (i % 2 ? 'spam' : 'ham')));
    let { data, log } = await prepare();
    expect(data.task).toMatchObject({ task: 'binary', labels: ['ham', 'spam'] });
    expect(log.join('\n')).toMatch(/task=binary inferred: labels are not all numbers/);

    await put('train', 'a.csv', rowsOf(40, (i) => String(i % 3)));
    ({ data, log } = await prepare());
    expect(data.task).toMatchObject({ task: 'multiclass', labels: ['0', '1', '2'] });
    expect(log.join('\n')).toMatch(/labels are integers with 3 distinct values .* set task=regression/);

    ({ data } = await prepare({ task: 'regression' }));
    expect(data.task.task).toBe('regression');

    await put('train', 'a.csv', rowsOf(40, (i) => String(i * 0.5)));
    ({ data, log } = await prepare());
    expect(data.task.task).toBe('regression');
    expect(log.join('\n')).toMatch(/task=regression inferred/);
  });

  it('refuses classification of a single class, saying which label and what to do', async () => {
    await put('train', 'a.csv', rowsOf(20, () => 'cat'));
    await expect(prepare()).rejects.toThrow('classification needs at least 2 classes, but every training label is "cat"; add rows of another class');
    await put('train', 'a.csv', rowsOf(20, () => '1'));
    await expect(prepare()).rejects.toThrow(
      'classification needs at least 2 classes, but every training label is "1"; add rows of another class, or set task=regression to predict the label as a number',
    );
  });

  it('refuses regression on text labels and a validation label unseen in training', async () => {
    await put('train', 'a.csv', rowsOf(20, (i) => (i % 2 ? 'a' : 'b')));
    await expect(prepare({ task: 'regression' })).rejects.toThrow(/the label "b" is not a number; regression needs numeric labels/);
    // ... and what would be right instead.
    await expect(prepare({ task: 'regression' })).rejects.toThrow(/regression needs numeric labels; to classify them, set task=multiclass or leave task unset/);
    await expect(prepare({ algorithm: 'linear-regression' })).rejects.toThrow(
      /task=regression because algorithm=linear-regression, but the label "b" is not a number; regression needs numeric labels; to classify them, use algorithm=logistic-regression or mlp/,
    );
    await rm(paths.channel('train'), { recursive: true });
    await put('train', 'a.csv', rowsOf(20, (i) => (i === 7 ? '5e38' : String(i * 0.5))));
    await expect(prepare()).rejects.toThrow(/train\/a.csv line 9: the label is "5e\+38"; expected a number within float32 range \(magnitude at most 3\.4e38\) for regression/);
    await rm(paths.channel('train'), { recursive: true });
    await put('train', 'a.csv', rowsOf(20, (i) => (i % 2 ? 'a' : 'b')));
    await put('validation', 'v.csv', 'y,x1,x2\na,1,2\nc,3,4\n');
    await expect(prepare()).rejects.toThrow('validation/v.csv line 3: the label "c" does not occur in the training data; expected one of a, b');
  });

  it('learns standardisation from the training rows only and applies it to every batch', async () => {
    await put('train', 'a.csv', rowsOf(200, (i) => String(i * 0.25)));
    const { data } = await prepare({ validation_fraction: '0.2', seed: '3' });
    expect(data.partitioning).toEqual({ kind: 'holdout', fraction: 0.2 });
    const [trainRows, validationRows] = data.scan.rowsPerPartition;
    expect(trainRows! + validationRows!).toBe(200);
    expect(validationRows).toBeGreaterThan(20);
    expect(validationRows).toBeLessThan(60);
    const pre = data.preprocessing([0]);
    const batches = await collect(data.source([0], pre).inOrder(64));
    expect(batches.reduce((n, b) => n + b.size, 0)).toBe(trainRows);
    // Standardised on the training rows: every column of x and y has mean 0 and variance 1 there.
    const x = batches.flatMap((b) => Array.from(b.x));
    const y = batches.flatMap((b) => Array.from(b.y));
    const column = (j: number) => x.filter((_, i) => i % 2 === j);
    for (const values of [column(0), column(1), y]) {
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
      expect(mean).toBeCloseTo(0, 5);
      expect(variance).toBeCloseTo(1, 4);
    }
  });

  it('shuffles by seed: the same seed and epoch give the same order, another epoch another order', async () => {
    await put('train', 'a.csv', rowsOf(100, (i) => String(i % 2)));
    const { data } = await prepare({ validation_fraction: '0' });
    const pre = data.preprocessing([0]);
    const firstColumn = async (epoch: number) => (await collect(data.source([0], pre).epoch(epoch, 16))).flatMap((b) => Array.from(b.x.filter((_, i) => i % 2 === 0)));
    const a = await firstColumn(1);
    expect(await firstColumn(1)).toEqual(a);
    expect(await firstColumn(2)).not.toEqual(a);
    expect([...a].sort()).toEqual([...(await firstColumn(2))].sort());
  });

  it('streams data larger than the memory budget and yields every training row once per epoch', async () => {
    await put('train', 'a.csv', rowsOf(300, (i) => String(i % 2)));
    await put('train', 'b.csv', rowsOf(300, (i) => String((i + 1) % 2)));
    const memory = (await prepare({ cv_folds: '3' })).data;
    const { data: streamed, log } = await prepare({ cv_folds: '3' }, 2_000);
    expect(memory.scan.cache).not.toBeNull();
    expect(streamed.scan.cache).toBeNull();
    expect(log.join('\n')).toMatch(/streamed from the files each epoch/);
    const pre = streamed.preprocessing([0, 2]);
    expect(pre).toEqual(memory.preprocessing([0, 2]));
    const rowsOfEpoch = async (d: PreparedData, epoch: number) => {
      const batches = await collect(d.source([0, 2], pre).epoch(epoch, 32));
      expect(batches.slice(0, -1).every((b) => b.size === 32)).toBe(true);
      return batches.flatMap((b) => Array.from({ length: b.size }, (_, i) => `${b.x[2 * i]}|${b.x[2 * i + 1]}|${b.y[i]}`));
    };
    const streamedRows = await rowsOfEpoch(streamed, 1);
    expect(streamedRows.length).toBe(streamed.scan.rowsPerPartition[0]! + streamed.scan.rowsPerPartition[2]!);
    expect([...streamedRows].sort()).toEqual([...(await rowsOfEpoch(memory, 1))].sort());
    expect(await rowsOfEpoch(streamed, 1)).toEqual(streamedRows);
    // Resuming mid-epoch: skipping 3 batches gives the rest of the same order.
    const resumed = await collect(streamed.source([0, 2], pre).epoch(1, 32, 3));
    expect(resumed.flatMap((b) => Array.from({ length: b.size }, (_, i) => `${b.x[2 * i]}|${b.x[2 * i + 1]}|${b.y[i]}`))).toEqual(streamedRows.slice(96));
  });

  it('refuses a split that leaves a part empty, and cv_folds with validation_fraction', async () => {
    await put('train', 'a.csv', rowsOf(3, (i) => String(i)));
    await expect(prepare({ cv_folds: '10', task: 'regression' })).rejects.toThrow(/3 rows, too few to split into 10 folds/);
    await expect(prepare({ cv_folds: '2', validation_fraction: '0.2' })).rejects.toThrow(/set cv_folds or validation_fraction, not both/);
  });
});
