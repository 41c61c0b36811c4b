/**
 * What the text models share with each other and with the tabular ones: the text
 * hyperparameters and their per-algorithm defaults, an artifact of several files, and the text
 * corpus reader (.txt, JSON Lines, CSV, gzip, strict UTF-8).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadArtifact } from '../../../model-runtime/src/artifact/load.ts';
import { MODEL_FORMAT, type TextClassifierDescription } from '../../../model-runtime/src/artifact/model-description.ts';
import { saveArtifact } from '../../../model-runtime/src/artifact/save.ts';
import { parseHyperparameters } from '../../../model-runtime/src/contract/hyperparameters.ts';
import { readTextCorpus } from '../../../model-runtime/src/data/text-corpus.ts';
import { tinyDescription, tinyLinearOnnx } from '../artifact/tiny-onnx.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'modelstack-text-seams-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('text hyperparameters', () => {
  it('default the transformer sizes and the optimizer per text algorithm', () => {
    expect(parseHyperparameters({ algorithm: 'text-classifier' })).toMatchObject({
      nLayer: 2, nHead: 4, nEmbd: 128, contextLength: 128, tokenizer: 'bpe', vocabSize: 1024, bias: true, maxSteps: 0, textColumn: 'text',
      optimizer: 'adamw', lrSchedule: 'cosine', gradClip: 1, learningRate: 1e-3, weightDecay: 0.01, epochs: 10, batchSize: 32,
    });
    expect(parseHyperparameters({ algorithm: 'language-model' })).toMatchObject({
      nLayer: 4, contextLength: 64, batchSize: 12, maxSteps: 2000, warmupSteps: 100, weightDecay: 0.1, evalInterval: 250, evalSteps: 20,
    });
    // The tabular defaults are unchanged.
    expect(parseHyperparameters({})).toMatchObject({ optimizer: 'adam', lrSchedule: 'constant', gradClip: 0, epochs: 100 });
    expect(parseHyperparameters({ algorithm: 'text-classifier', bias: 'False', tokenizer: 'char', text_column: 'review' })).toMatchObject({ bias: false, tokenizer: 'char', textColumn: 'review' });
  });

  it('refuse keys of the other family, heads that do not divide the width, and settings that do not apply', () => {
    expect(() => parseHyperparameters({ algorithm: 'mlp', n_layer: '2' })).toThrow('hyperparameter n_layer does not apply to algorithm=mlp; it applies to the text models (text-classifier, language-model) only');
    expect(() => parseHyperparameters({ algorithm: 'text-classifier', hidden_sizes: '8' })).toThrow('hyperparameter hidden_sizes does not apply to algorithm=text-classifier; it applies to algorithm=mlp only');
    expect(() => parseHyperparameters({ algorithm: 'text-classifier', n_embd: '30', n_head: '4' })).toThrow(/n_embd=30 must be a multiple of n_head=4 .*e\.g\. n_embd=32/);
    expect(() => parseHyperparameters({ algorithm: 'text-classifier', tokenizer: 'char', vocab_size: '500' })).toThrow(/vocab_size applies to tokenizer=bpe only/);
    expect(() => parseHyperparameters({ algorithm: 'text-classifier', task: 'regression' })).toThrow(/fits task=binary or multiclass/);
    expect(() => parseHyperparameters({ algorithm: 'language-model', label_column: 'y' })).toThrow('hyperparameter label_column does not apply to algorithm=language-model (it predicts the next token of the text); it applies to algorithm=linear-regression, logistic-regression, mlp, text-classifier only');
    expect(() => parseHyperparameters({ algorithm: 'text-classifier', eval_steps: '5' })).toThrow('hyperparameter eval_steps does not apply to algorithm=text-classifier; it applies to algorithm=language-model only');
    expect(() => parseHyperparameters({ algorithm: 'mlp', content_type: 'text/plain' })).toThrow(/plain text\) is read by the text models only/);
    expect(() => parseHyperparameters({ algorithm: 'text-classifier', bias: 'yes' })).toThrow(/bias="yes" is not allowed; expected true \| false/);
  });
});

describe('an artifact of several files', () => {
  const description: TextClassifierDescription = {
    format: MODEL_FORMAT,
    algorithm: 'text-classifier',
    task: 'binary',
    hyperparameters: {},
    contextLength: 8,
    tokenizer: { file: 'tokenizer.json', kind: 'char', vocabSize: 4 },
    labels: ['no', 'yes'],
    textColumn: 'text',
    padId: 3,
    metrics: {},
    versions: { modelstack: '0', onnxruntime: '0', node: '0' },
  };
  // A copy: protobufjs may hand out small encodings from a pool that later encodings reuse.
  const onnx = Uint8Array.from(tinyLinearOnnx([1], 0));
  const tokenizer = new TextEncoder().encode('{"tokenizer": true}');

  it('saves and loads every file under the manifest, and replaces a previous artifact whole', async () => {
    await saveArtifact(dir, { 'model.onnx': tinyLinearOnnx([1, 2], 0) }, tinyDescription(['a', 'b']));
    const manifest = await saveArtifact(dir, { 'model.onnx': onnx, 'tokenizer.json': tokenizer, 'extra/config.json': new TextEncoder().encode('{}') }, description);
    expect(Object.keys(manifest.files)).toEqual(['extra/config.json', 'model.json', 'model.onnx', 'tokenizer.json']);
    const loaded = await loadArtifact(dir);
    expect(loaded.description).toEqual(description);
    expect(Uint8Array.from(loaded.files.get('tokenizer.json')!)).toEqual(tokenizer);
    expect(Uint8Array.from(loaded.onnx)).toEqual(onnx);
    // Back to a tabular model: the tokenizer and config files of the text model go with its manifest.
    await saveArtifact(dir, { 'model.onnx': onnx }, tinyDescription(['a']));
    expect([...(await loadArtifact(dir)).files.keys()]).toEqual(['model.json', 'model.onnx']);
  });

  it('refuses a text model without its tokenizer, files it writes itself, and names outside the folder', async () => {
    await expect(saveArtifact(dir, { 'model.onnx': onnx }, description)).rejects.toThrow(/a text-classifier artifact needs tokenizer\.json/);
    await expect(saveArtifact(dir, { 'model.onnx': onnx, 'model.json': tokenizer }, tinyDescription(['a']))).rejects.toThrow(/model\.json is written by saveArtifact itself/);
    await expect(saveArtifact(dir, { 'model.onnx': onnx, '../x': tokenizer }, tinyDescription(['a']))).rejects.toThrow(/must be a relative path inside the model folder/);
  });
});

describe('readTextCorpus', () => {
  const channel = async (files: Record<string, string | Buffer>) => {
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  };
  const unlabelled = { textColumn: 'text', labelColumn: null, contentType: null };

  it('reads .txt files whole, JSON Lines objects or strings, CSV by header, and gzip, in file order', async () => {
    await channel({
      'a.txt': 'First document.\nIts second line.\n',
      'b.jsonl': '{"text": "from json"}\n"a bare string"\n\n',
      'c.csv': 'id,text\n1,"from, csv"\n',
      'd.jsonl.gz': gzipSync('{"text": "zipped 中文 🙂"}\n'),
      'empty.txt': '',
    });
    const documents = await readTextCorpus(dir, 'train', unlabelled);
    expect(documents!.map((d) => d.text)).toEqual(['First document.\nIts second line.\n', 'from json', 'a bare string', 'from, csv', 'zipped 中文 🙂']);
    expect(documents!.map((d) => d.where)).toEqual(['train/a.txt', 'train/b.jsonl line 1', 'train/b.jsonl line 2', 'train/c.csv line 2', 'train/d.jsonl.gz line 1']);
    expect(await readTextCorpus(path.join(dir, 'absent'), 'validation', unlabelled)).toBeNull();
  });

  it('reads labels as text, and refuses plain text where labels are needed', async () => {
    await channel({ 'a.jsonl': '{"text": "x", "y": 1}\n{"text": "z", "y": true}\n' });
    const documents = await readTextCorpus(dir, 'train', { textColumn: 'text', labelColumn: 'y', contentType: null });
    expect(documents!.map((d) => d.label)).toEqual(['1', 'true']);
    await channel({ 'b.txt': 'hello' });
    await expect(readTextCorpus(dir, 'train', { textColumn: 'text', labelColumn: 'y', contentType: null })).rejects.toThrow(/b\.txt is plain text, which has no labels/);
  });

  it('names the format it cannot tell and the bytes that are not UTF-8', async () => {
    await channel({ 'a.bin': 'x' });
    await expect(readTextCorpus(dir, 'train', unlabelled)).rejects.toThrow(/cannot tell the format of train\/a\.bin: name it \.txt, \.csv or \.jsonl/);
    await rm(path.join(dir, 'a.bin'));
    await channel({ 'a.txt': Buffer.from([0x68, 0x69, 0xff]) });
    await expect(readTextCorpus(dir, 'train', unlabelled)).rejects.toThrow(/train\/a\.txt: byte offset 2 \(line 1\) is not valid UTF-8 \(bytes 0xff\)/);
  });
});
