/**
 * algorithm=text-classifier through the training contract: it learns a keyword/topic task the
 * tests generate, writes the artifact (model.onnx over input_ids + attention_mask, tokenizer.json
 * the Hugging Face library loads, model.json, MANIFEST.json), stops at max_steps, resumes
 * exactly after a stop, and names what is wrong with bad data. `model-runtime train` as a child
 * process shows the failure reason SageMaker records.
 */
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadArtifact } from '../../../model-runtime/src/artifact/load.ts';
import type { TextClassifierDescription } from '../../../model-runtime/src/artifact/model-description.ts';
import type { RuntimePaths } from '../../../model-runtime/src/contract/paths.ts';
import { DataError } from '../../../model-runtime/src/data/data-error.ts';
import { parseTokenizerJson } from '../../../model-runtime/src/text/tokenizer-json.ts';
import { TrainingStopped } from '../../../model-runtime/src/train/fit.ts';
import { runTraining } from '../../../model-runtime/src/train/run.ts';
import type { TrainingEvent, TrainingResult } from '../../../model-runtime/src/train/training-events.ts';
import { logTrainingLines } from '../../../model-runtime/src/train/training-log.ts';
import { topicCsv, topicDocuments, topicJsonLines } from './text-data.ts';
import { makeTree } from './tree.ts';

/** A small encoder that learns the task in a few seconds here. */
const SMALL = { algorithm: 'text-classifier', vocab_size: '400', n_layer: '1', n_head: '2', n_embd: '32', context_length: '32', batch_size: '16', learning_rate: '0.003' };

const roots: string[] = [];
async function tree(...args: Parameters<typeof makeTree>): Promise<RuntimePaths> {
  const paths = await makeTree(...args);
  roots.push(paths.root);
  return paths;
}
afterAll(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

describe('text-classifier training', () => {
  let paths: RuntimePaths;
  let result: TrainingResult;
  const lines: string[] = [];

  beforeAll(async () => {
    paths = await tree({ ...SMALL, epochs: '4' }, { train: { 'docs.jsonl': topicJsonLines(360, 1) }, validation: { 'docs.jsonl': topicJsonLines(150, 2) } });
    result = await runTraining(paths, { onEvent: logTrainingLines((line) => lines.push(line)) });
  }, 60_000);

  it('learns the keyword task to at least 0.95 validation accuracy, reported in metric lines', () => {
    const metricLines = lines.filter((line) => line.startsWith('epoch='));
    expect(metricLines).toHaveLength(5); // four epochs, then the saved weights' final metrics
    for (const name of ['train_loss', 'validation_loss', 'validation_accuracy']) expect(metricLines[0]).toMatch(new RegExp(`${name}=\\S+;`));
    const final = result.description.metrics;
    expect(final.validation_accuracy).toBeGreaterThanOrEqual(0.95);
    expect(final.validation_loss).toBeLessThan(0.3);
    expect(lines).toContain('data: task=multiclass inferred; classes: food, sports, weather');
  });

  it('writes model.onnx (input_ids, attention_mask -> probabilities), tokenizer.json and model.json, all in the manifest', async () => {
    const artifact = await loadArtifact(paths.model);
    expect(Object.keys(artifact.manifest.files)).toEqual(['model.json', 'model.onnx', 'tokenizer.json']);
    const description = artifact.description as TextClassifierDescription;
    expect(description).toMatchObject({ algorithm: 'text-classifier', task: 'multiclass', labels: ['food', 'sports', 'weather'], contextLength: 32, textColumn: 'text' });
    expect(description.tokenizer).toMatchObject({ file: 'tokenizer.json', kind: 'bpe' });

    // Another ONNX stack's view: the library's own encoding of new sentences, fed to model.onnx.
    const hf = new HfTokenizer(JSON.parse(new TextDecoder().decode(artifact.files.get('tokenizer.json')!)), {});
    const texts = ['we saw a storm today', 'the striker was very new', 'some cheese and bread'];
    const encoded = texts.map((text) => hf.encode(text).ids);
    const runtime = parseTokenizerJson(new TextDecoder().decode(artifact.files.get('tokenizer.json')!));
    texts.forEach((text, i) => expect(runtime.encode(text)).toEqual(encoded[i]));
    const width = Math.max(...encoded.map((ids) => ids.length));
    const ids = new BigInt64Array(texts.length * width).fill(BigInt(description.padId));
    const mask = new BigInt64Array(texts.length * width);
    encoded.forEach((row, b) => row.forEach((id, t) => ((ids[b * width + t] = BigInt(id)), (mask[b * width + t] = 1n))));
    const session = await ort.InferenceSession.create(artifact.onnx);
    const output = await session.run({ input_ids: new ort.Tensor('int64', ids, [texts.length, width]), attention_mask: new ort.Tensor('int64', mask, [texts.length, width]) });
    await session.release();
    const probabilities = output.probabilities!.data as Float32Array;
    const predicted = texts.map((_, b) => description.labels[argMax(probabilities.subarray(b * 3, b * 3 + 3))]);
    expect(predicted).toEqual(['weather', 'sports', 'food']);
    for (let b = 0; b < texts.length; b++) expect(probabilities[b * 3]! + probabilities[b * 3 + 1]! + probabilities[b * 3 + 2]!).toBeCloseTo(1, 5);
  });
});

describe('text-classifier runs', () => {
  it('reads CSV with a header naming text_column and label_column, learns with a char tokenizer, and stops at max_steps', async () => {
    const csv = topicCsv(200, 3).replace('label,text', 'topic,body');
    const { vocab_size: _bpeOnly, ...small } = SMALL;
    const paths = await tree(
      { ...small, tokenizer: 'char', text_column: 'body', label_column: 'topic', epochs: '50', max_steps: '30', validation_fraction: '0.2' },
      { train: { 'docs.csv': csv } },
    );
    const events: TrainingEvent[] = [];
    const result = await runTraining(paths, { onEvent: (event) => events.push(event) });
    const batches = events.filter((event) => event.kind === 'batch');
    expect(batches).toHaveLength(30);
    const description = result.description as TextClassifierDescription;
    expect(description).toMatchObject({ textColumn: 'body', tokenizer: { kind: 'char' }, labels: ['food', 'sports', 'weather'] });
    // 30 steps of batch 16 over ~160 rows: 3 epochs, the last one cut at the step limit.
    expect(result.history).toHaveLength(3);
    expect(result.description.metrics.validation_loss).toBeLessThan(Math.log(3));
  }, 60_000);

  it('resumes after a stop (with dropout and checkpoints every few steps) to the very weights of an uninterrupted run', async () => {
    const hp = { ...SMALL, epochs: '2', dropout: '0.1', checkpoint_every_steps: '5', seed: '7' };
    const channels = { train: { 'docs.jsonl': topicJsonLines(160, 4) } }; // 150 train: 10 batches an epoch
    const reference = await tree(hp, channels);
    await runTraining(reference, { onEvent: () => undefined });

    const paths = await tree(hp, channels);
    const controller = new AbortController();
    let seen = 0;
    const stopAfter = (event: TrainingEvent) => {
      if (event.kind === 'batch' && ++seen === 12) controller.abort();
    };
    await expect(runTraining(paths, { onEvent: stopAfter, signal: controller.signal })).rejects.toBeInstanceOf(TrainingStopped);
    const notes: string[] = [];
    await runTraining(paths, { onEvent: (event) => event.kind === 'note' && notes.push(event.text) });
    expect(notes).toContain('checkpoint: resuming at epoch 2, batch 3 (step 12)');
    const [resumed, uninterrupted] = await Promise.all([loadArtifact(paths.model), loadArtifact(reference.model)]);
    expect(resumed.manifest.digest).toBe(uninterrupted.manifest.digest);
  }, 60_000);
});

describe('text-classifier data errors', () => {
  const failure = async (files: Record<string, string | Buffer>, hp: Record<string, string> = {}) => {
    const paths = await tree({ ...SMALL, ...hp }, { train: {} });
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(paths.channel('train'), name), content);
    return runTraining(paths, { onEvent: () => undefined }).then(
      () => {
        throw new Error('training succeeded on bad data');
      },
      (error: unknown) => error as Error,
    );
  };

  it('a label with one class', async () => {
    const error = await failure({ 'a.jsonl': topicDocuments(30, 1).map((d) => `${JSON.stringify({ text: d.text, label: 'spam' })}\n`).join('') });
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/needs at least 2 classes, but every training label is "spam"/);
  });

  it('a missing text key, a missing label key, and a CSV header without the text column', async () => {
    expect((await failure({ 'a.jsonl': '{"text": "x", "label": "a"}\n{"body": "y", "label": "b"}\n' })).message).toMatch(/a\.jsonl line 2: no "text" key \(it has "body", "label"\); set text_column/);
    expect((await failure({ 'a.jsonl': '{"text": "x", "class": "a"}\n' })).message).toMatch(/line 1: no "label" key .*set label_column/);
    expect((await failure({ 'a.csv': 'label,body\na,hello\n' })).message).toMatch(/a\.csv line 1: the header \("label", "body"\) has no text column "text"/);
  });

  it('an empty corpus, and an empty text', async () => {
    expect((await failure({ 'a.jsonl': '\n\n' })).message).toMatch(/channel .* holds no text: train\/a\.jsonl is empty/);
    expect((await failure({ 'a.jsonl': '{"text": "", "label": "a"}\n' })).message).toMatch(/line 1: "text" is the empty string/);
  });

  it('non-UTF-8 bytes, named by file and offset, in the failure file SageMaker reads', async () => {
    const latin1 = Buffer.concat([Buffer.from('{"text": "caf'), Buffer.from([0xe9]), Buffer.from('", "label": "a"}\n{"text": "tea", "label": "b"}\n')]);
    const error = await failure({ 'a.jsonl': latin1 });
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/train\/a\.jsonl: byte offset 13 \(line 1\) is not valid UTF-8 \(bytes 0xe9/);

    const paths = await tree(SMALL, { train: {} });
    await writeFile(path.join(paths.channel('train'), 'a.jsonl'), latin1);
    const exit = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(path.resolve(import.meta.dirname, '../../../model-runtime/bin/model-runtime'), ['train'], { env: { ...process.env, MODEL_RUNTIME_ROOT: paths.root } });
      child.on('error', reject);
      child.on('close', resolve);
    });
    expect(exit).toBe(1);
    expect(await readFile(paths.failure, 'utf8')).toMatch(/^Invalid training data: train\/a\.jsonl: byte offset 13 \(line 1\) is not valid UTF-8/);
  });

  it('a validation label the training data never had', async () => {
    const paths = await tree(SMALL, { train: { 'a.jsonl': topicJsonLines(40, 1) }, validation: { 'v.jsonl': '{"text": "hello", "label": "music"}\n' } });
    await expect(runTraining(paths, { onEvent: () => undefined })).rejects.toThrow(/v\.jsonl line 1: the validation label "music" is not among the training labels \(food, sports, weather\)/);
  });
});

function argMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
