/**
 * algorithm=language-model through the SageMaker training contract: a tiny GPT learns a small
 * formal grammar to a stated validation perplexity in seconds and then writes sentences of that
 * grammar; the artifact is laid out as Hugging Face's exports are; a stopped run resumes to the
 * uninterrupted run's result; bad text is refused by name.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadArtifact } from '../../../model-runtime/src/artifact/load.ts';
import { createRandom } from '../../../model-runtime/src/data/random.ts';
import { generate } from '../../../model-runtime/src/models/generation.ts';
import { CausalDecoder } from '../../../model-runtime/src/models/generation-decoder.ts';
import { parseDecoderConfig } from '../../../model-runtime/src/models/gpt-config.ts';
import { parseTokenizerJson } from '../../../model-runtime/src/text/tokenizer-json.ts';
import { TrainingStopped } from '../../../model-runtime/src/train/fit.ts';
import { runTraining } from '../../../model-runtime/src/train/run.ts';
import { logTrainingLines } from '../../../model-runtime/src/train/training-log.ts';
import { makeTree } from './tree.ts';

/** "the cat sees a dog." and the like: 2 x 3 x 2 x 2 x 3 = 72 sentences, chosen at random. */
const SENTENCE = /^(the|a) (cat|dog|bird) (sees|likes) (the|a) (cat|dog|bird)\.$/;
function grammarText(sentences: number, seed: number): string {
  const random = createRandom(seed);
  const pick = (words: readonly string[]): string => words[Math.floor(random() * words.length)]!;
  const nouns = ['cat', 'dog', 'bird'];
  return Array.from({ length: sentences }, () => `${pick(['the', 'a'])} ${pick(nouns)} ${pick(['sees', 'likes'])} ${pick(['the', 'a'])} ${pick(nouns)}.`).join(' ');
}

const tiny = {
  algorithm: 'language-model', tokenizer: 'char', n_layer: '2', n_head: '2', n_embd: '32', context_length: '32', batch_size: '12',
  max_steps: '200', eval_interval: '100', eval_steps: '4', learning_rate: '0.01', warmup_steps: '20', dropout: '0', seed: '1',
};

describe('algorithm=language-model', () => {
  it('learns a small grammar to validation perplexity < 1.4 and writes sentences of it; the artifact is a Hugging Face style decoder', async () => {
    const paths = await makeTree(tiny, { train: { 'corpus.txt': grammarText(600, 1) } });
    const lines: string[] = [];
    const result = await runTraining(paths, { onEvent: logTrainingLines((l) => lines.push(l)) });
    const metricLines = lines.filter((l) => /^train_loss=\S+; validation_loss=\S+; validation_perplexity=\S+; tokens_per_second=\S+;$/.test(l));
    expect(metricLines).toHaveLength(2); // step 100, and the final evaluation at step 200
    // The grammar's own entropy allows about 1.2: the model gets most of the way.
    expect(result.description.metrics.validation_perplexity).toBeLessThan(1.4);
    expect(result.description.metrics.validation_perplexity).toBeCloseTo(Math.exp(result.description.metrics.validation_loss!), 5);
    expect(result.description.metrics.tokens_per_second).toBeUndefined();

    const artifact = await loadArtifact(paths.model);
    expect([...artifact.files.keys()].sort()).toEqual(['config.json', 'generation_config.json', 'model.json', 'model.onnx', 'tokenizer.json']);
    const configJson = JSON.parse(new TextDecoder().decode(artifact.files.get('config.json')));
    expect(configJson).toMatchObject({ model_type: 'gpt2', n_layer: 2, n_head: 2, n_embd: 32, n_positions: 32 });
    const tokenizer = parseTokenizerJson(new TextDecoder().decode(artifact.files.get('tokenizer.json')));
    expect(configJson.vocab_size).toBe(tokenizer.vocabSize);
    expect(configJson.eos_token_id).toBe(tokenizer.encode('<|endoftext|>')[0]);
    const config = parseDecoderConfig(new TextDecoder().decode(artifact.files.get('config.json')));
    const decoder = await CausalDecoder.create(artifact.onnx, { ...config, headDim: config.nEmbd / config.nHead }, { intraOpNumThreads: 1, log: () => {} });
    try {
      const settings = { maxNewTokens: 80, doSample: true, temperature: 0.8, topK: 0, topP: 1, seed: 3, stop: [], eosTokenIds: config.eosTokenIds };
      const continuation = await generate(decoder, tokenizer, tokenizer.encode('the cat sees a dog. '), settings);
      // Every complete sentence is one of the grammar's (the window slides past 32 tokens).
      const sentences = continuation.text.split(/(?<=\.) /).slice(0, -1);
      expect(sentences.length).toBeGreaterThan(1);
      for (const s of sentences) expect(s).toMatch(SENTENCE);
    } finally {
      await decoder.release();
    }
    await rm(paths.root, { recursive: true, force: true });
  }, 60_000);

  it('stops on request with a checkpoint, and resumes to exactly the uninterrupted result (dropout on)', async () => {
    const hyperparameters = { ...tiny, n_embd: '16', max_steps: '24', eval_interval: '8', dropout: '0.1', checkpoint_every_steps: '5' };
    const data = { train: { 'corpus.txt': grammarText(100, 2) } };
    const reference = await makeTree(hyperparameters, data);
    const expected = await runTraining(reference, { onEvent: () => {} });

    const paths = await makeTree(hyperparameters, data);
    const controller = new AbortController();
    const stopped = runTraining(paths, { signal: controller.signal, onEvent: (event) => event.kind === 'step' && event.step === 13 && controller.abort() });
    await expect(stopped).rejects.toBeInstanceOf(TrainingStopped);
    expect(JSON.parse(await readFile(path.join(paths.checkpoints, 'checkpoint.json'), 'utf8'))).toMatchObject({ step: 13 });
    await expect(stat(paths.model)).rejects.toThrow();

    const lines: string[] = [];
    const resumed = await runTraining(paths, { onEvent: logTrainingLines((l) => lines.push(l)) });
    expect(lines).toContain('checkpoint: resuming at step 14 of 24');
    const withoutThroughput = (h: readonly Record<string, number | undefined>[]) => h.map(({ tokens_per_second: _, ...rest }) => rest);
    expect(withoutThroughput(resumed.history)).toEqual(withoutThroughput(expected.history));
    expect(resumed.description.metrics).toEqual(expected.description.metrics);
    // Identical runs seal identical artifacts.
    expect(resumed.manifest.digest).toBe(expected.manifest.digest);
    await rm(paths.root, { recursive: true, force: true });
    await rm(reference.root, { recursive: true, force: true });
  }, 60_000);

  it('reads JSON Lines text and a validation channel', async () => {
    const jsonl = (n: number, seed: number): string => grammarText(n, seed).split(/(?<=\.) /).map((text) => JSON.stringify({ text })).join('\n');
    const paths = await makeTree({ ...tiny, n_embd: '16', max_steps: '10', eval_interval: '5' }, { train: { 'a.jsonl': jsonl(80, 3) }, validation: { 'v.jsonl': jsonl(20, 4) } });
    const lines: string[] = [];
    await runTraining(paths, { onEvent: logTrainingLines((l) => lines.push(l)) });
    // Every sentence is a document, each followed by <|endoftext|>.
    expect(lines.find((l) => l.startsWith('data:'))).toMatch(/^data: 80 training documents, \d+ training tokens, \d+ validation tokens \(validation channel\); char tokenizer of 17 tokens; 10 steps of 12 x 32 tokens$/);
    await rm(paths.root, { recursive: true, force: true });
  });

  it.each([
    ['an empty corpus', { 'empty.txt': '' }, /the train channel .* holds no text: train\/empty\.txt is empty/],
    ['a corpus shorter than one window', { 'short.txt': 'the cat sees a dog.' }, /the training text has \d+ tokens; one training window needs context_length \+ 1 = 33: add text, or lower context_length/],
  ])('refuses %s by name', async (_, files, message) => {
    const paths = await makeTree(tiny, { train: files });
    await expect(runTraining(paths, { onEvent: () => {} })).rejects.toThrow(message);
    await rm(paths.root, { recursive: true, force: true });
  });

  it('refuses text that is not UTF-8, naming the file', async () => {
    const paths = await makeTree(tiny, { train: {} });
    await writeFile(path.join(paths.channel('train'), 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x61]));
    await expect(runTraining(paths, { onEvent: () => {} })).rejects.toThrow(/latin1\.txt.*(UTF-8|utf-8)/);
    await rm(paths.root, { recursive: true, force: true });
  });
});
