/**
 * Pretrained Hugging Face models: export folders in Optimum's layout (a GPT-2 class merged
 * decoder, a BERT class classifier and encoder; fixtures/hf-exports.ts, with GPT-2's and
 * bert-base-uncased's real tokenizers) are sealed by `modelstack package <folder> --task ...`,
 * served over real HTTP on loopback and through the AWS SDK, and their answers are checked
 * against ONNX Runtime run directly on the same files: greedy tokens, labels and scores,
 * embeddings. A changed file of a package stops it serving; a wrong folder is refused by name.
 */
import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { InvokeEndpointCommand, InvokeEndpointWithResponseStreamCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel, type ModelFolder } from '../../bin/cli/model-source.ts';
import { packagePretrainedModel } from '../../bin/cli/package.ts';
import { createSession } from '../../model-runtime/src/engine/session.ts';
import type { GptConfig } from '../../model-runtime/src/models/gpt.ts';
import type { BertExportConfig } from '../../model-runtime/src/models/pretrained-export-layout.ts';
import { loadServedModel } from '../../model-runtime/src/serve/load-served-model.ts';
import { bertTokenizerJson, GPT2_END_OF_TEXT, gpt2TokenizerJson, writeBertExportFolder, writeGpt2ExportFolder } from './fixtures/hf-exports.ts';
import { directGreedy as directGreedyTokens } from './fixtures/direct-greedy.ts';
import { invoke, startLocalServer, type LocalServer } from './fixtures/local-server.ts';

let root: string;
let gptConfig: GptConfig;
let bertConfig: BertExportConfig;
const folders: Record<'gpt2' | 'classifier' | 'encoder', ModelFolder> = {} as never;
const servers: Record<'gpt2' | 'classifier' | 'encoder', LocalServer> = {} as never;
let sdk: SageMakerRuntimeClient;
let gpt2: Tokenizer;
let bert: Tokenizer;

const exportDir = (name: string): string => path.join(root, 'exports', name);

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  root = await mkdtemp(path.join(os.tmpdir(), 'modelstack-pretrained-test-'));
  gptConfig = await writeGpt2ExportFolder(exportDir('gpt2'));
  bertConfig = await writeBertExportFolder(exportDir('classifier'), { task: 'text-classification', labels: ['negative', 'neutral', 'positive'] });
  await writeBertExportFolder(exportDir('encoder'), { task: 'feature-extraction' });
  const tasks = { gpt2: 'text-generation', classifier: 'text-classification', encoder: 'feature-extraction' } as const;
  for (const name of ['gpt2', 'classifier', 'encoder'] as const) {
    const packaged = await packagePretrainedModel(exportDir(name), { task: tasks[name], output: path.join(root, `${name}.tar.gz`) });
    folders[name] = await openModel(packaged.archive);
    servers[name] = await startLocalServer(folders[name].dir);
    await servers[name].server.ready;
  }
  sdk = new SageMakerRuntimeClient({ endpoint: servers.classifier.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  gpt2 = new Tokenizer(await gpt2TokenizerJson(), {});
  bert = new Tokenizer(await bertTokenizerJson(), {});
}, 120_000);

afterAll(async () => {
  sdk?.destroy();
  for (const server of Object.values(servers)) await server?.close();
  for (const folder of Object.values(folders)) await folder?.cleanup();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

const ids = (values: readonly number[], dims: readonly number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);
const argmax = (values: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
};

/** Greedy decoding computed directly (fixtures/direct-greedy.ts), up to GPT-2's <|endoftext|>. */
const directGreedy = (prompt: readonly number[], newTokens: number): Promise<number[]> =>
  directGreedyTokens(path.join(exportDir('gpt2'), 'decoder_model_merged.onnx'), gptConfig, prompt, newTokens, [GPT2_END_OF_TEXT]);

/** The export's model.onnx run directly on the texts (one at a time, no padding): the named output's rows. */
async function directEncoder(name: 'classifier' | 'encoder', texts: readonly string[], output: string): Promise<Float32Array[]> {
  const session = await createSession(new Uint8Array(await readFile(path.join(exportDir(name), 'model.onnx'))), { device: 'cpu', intraOpNumThreads: 1 });
  try {
    const rows: Float32Array[] = [];
    for (const text of texts) {
      const e = bert.encode(text, { return_token_type_ids: true });
      const dims = [1, e.ids.length];
      const out = await session.run({ input_ids: ids(e.ids, dims), attention_mask: ids(e.attention_mask, dims), token_type_ids: ids(e.token_type_ids, dims) }, [output]);
      rows.push(Float32Array.from(out[output]!.data as Float32Array));
    }
    return rows;
  } finally {
    await session.release();
  }
}

const softmax = (logits: Float32Array): number[] => {
  const max = Math.max(...logits);
  const exps = Array.from(logits, (z) => Math.exp(z - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
};

describe('the tokenizers the fixtures ship are the real ones', () => {
  it('GPT-2: "Hello world" is 15496, 995; bert-base-uncased: [CLS] hello world [SEP] is 101, 7592, 2088, 102', () => {
    expect(gpt2.encode('Hello world').ids).toEqual([15496, 995]);
    expect(bert.encode('Hello world').ids).toEqual([101, 7592, 2088, 102]);
  });
});

describe('a GPT-2 class export (decoder_model_merged.onnx) packaged and served', () => {
  const prompt = 'Hello world';
  const body = { inputs: prompt, parameters: { max_new_tokens: 12, do_sample: false, return_full_text: false } };

  it('generates the greedy tokens ONNX Runtime computes directly without the cache', async () => {
    const expected = await directGreedy(gpt2.encode(prompt).ids, 12);
    expect(expected.length).toBeGreaterThan(0);
    const answer = await invoke(servers.gpt2.url, JSON.stringify(body));
    expect(answer.status, answer.text).toBe(200);
    expect((answer.json() as [{ generated_text: string }])[0].generated_text).toBe(gpt2.decode(expected, { clean_up_tokenization_spaces: false }));
  });

  it('streams the same tokens through the AWS SDK, one TGI line each', async () => {
    const expected = await directGreedy(gpt2.encode(prompt).ids, 12);
    const client = new SageMakerRuntimeClient({ endpoint: servers.gpt2.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    try {
      const response = await client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'gpt2', ContentType: 'application/json', Body: JSON.stringify({ ...body, stream: true }) }));
      const decoder = new TextDecoder();
      let text = '';
      for await (const event of response.Body!) if (event.PayloadPart?.Bytes !== undefined) text += decoder.decode(event.PayloadPart.Bytes, { stream: true });
      const lines = text.trimEnd().split('\n').map((line) => JSON.parse(line) as { token: { id: number; text: string; special: boolean }; generated_text: string | null });
      expect(lines.filter((l) => !l.token.special).map((l) => l.token.id)).toEqual(expected);
      expect(lines.at(-1)!.generated_text).toBe(gpt2.decode(expected, { clean_up_tokenization_spaces: false }));
      expect(lines.map((l) => l.token.text).join('')).toBe(lines.at(-1)!.generated_text);
    } finally {
      client.destroy();
    }
  });

  it("the packaged model.onnx is Optimum's merge: one If on use_cache_branch, a with-past and a without-past subgraph, logits and present.* its outputs", async () => {
    const model = onnxProto.onnx.ModelProto.decode(await readFile(path.join(folders.gpt2.dir, 'model.onnx')));
    const graph = model.graph!;
    expect(graph.node!.map((n) => n.opType)).toEqual(['If']);
    const ifNode = graph.node![0]!;
    expect(ifNode.input).toEqual(['use_cache_branch']);
    const presents = Array.from({ length: gptConfig.nLayer }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat();
    expect(ifNode.output).toEqual(['logits', ...presents]);
    expect(graph.output!.map((o) => o.name)).toEqual(['logits', ...presents]);
    const branches = Object.fromEntries(ifNode.attribute!.map((a) => [a.name, a]));
    expect(Object.keys(branches).sort()).toEqual(['else_branch', 'then_branch']);
    const reads = (name: string): Set<string> => {
      const branch = branches[name]!;
      expect(branch.type).toBe(onnxProto.onnx.AttributeProto.AttributeType.GRAPH);
      expect(branch.g!.output).toHaveLength(1 + presents.length);
      return new Set(branch.g!.node!.flatMap((n: onnxProto.onnx.INodeProto) => n.input ?? []));
    };
    // The weights are the outer graph's initializers, read by both branches; only the with-past one reads the cache.
    const withPast = reads('then_branch');
    const withoutPast = reads('else_branch');
    expect(withPast.has('wte.weight') && withoutPast.has('wte.weight')).toBe(true);
    expect(withPast.has('past_key_values.0.key')).toBe(true);
    expect([...withoutPast].filter((name) => name.startsWith('past_key_values.'))).toEqual([]);
  });

  it('use_cache_branch decides the branch: a decode step told false ignores the cache and fails, told true it continues the direct greedy tokens', async () => {
    const session = await createSession(new Uint8Array(await readFile(path.join(folders.gpt2.dir, 'model.onnx'))), { device: 'cpu', intraOpNumThreads: 1 });
    const d = gptConfig.nEmbd / gptConfig.nHead;
    const promptIds = gpt2.encode(prompt).ids;
    const expected = await directGreedy(promptIds, 2);
    expect(expected).toHaveLength(2);
    const flag = (cached: boolean): ort.Tensor => new ort.Tensor('bool', new Uint8Array([cached ? 1 : 0]), [1]);
    try {
      const t = promptIds.length;
      const first: Record<string, ort.Tensor> = { input_ids: ids(promptIds, [1, t]), attention_mask: ids(new Array<number>(t).fill(1), [1, t]), position_ids: ids(promptIds.map((_, i) => i), [1, t]), use_cache_branch: flag(false) };
      for (let i = 0; i < gptConfig.nLayer; i++) {
        for (const kind of ['key', 'value']) first[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, gptConfig.nHead, 0, d]);
      }
      const prefill = await session.run(first);
      const step: Record<string, ort.Tensor> = { input_ids: ids([expected[0]!], [1, 1]), attention_mask: ids(new Array<number>(t + 1).fill(1), [1, t + 1]), position_ids: ids([t], [1, 1]) };
      for (let i = 0; i < gptConfig.nLayer; i++) {
        for (const kind of ['key', 'value']) step[`past_key_values.${i}.${kind}`] = prefill[`present.${i}.${kind}`]!;
      }
      const cached = await session.run({ ...step, use_cache_branch: flag(true) });
      expect(cached['present.0.key']!.dims).toEqual([1, gptConfig.nHead, t + 1, d]);
      expect(argmax(cached.logits!.data as Float32Array)).toBe(expected[1]);
      // The without-past branch reads no cache, so the attention_mask (past + 1 long) no longer fits the one token.
      await expect(session.run({ ...step, use_cache_branch: flag(false) })).rejects.toThrow(/decoder_without_past/);
    } finally {
      await session.release();
    }
  });

  it('a bad request is a 400 with the reason', async () => {
    const answer = await invoke(servers.gpt2.url, JSON.stringify({ inputs: prompt, parameters: { max_new_tokens: 'many' } }));
    expect(answer.status).toBe(400);
    expect((answer.json() as { message: string }).message).toMatch(/max_new_tokens/);
  });
});

describe('a BERT class text-classification export packaged and served', () => {
  const texts = ['I loved this film', 'the service was slow and the food cold', 'Hello world'];

  it('answers each text the label and score of the logits ONNX Runtime computes directly, softmax over id2label', async () => {
    const logits = await directEncoder('classifier', texts, 'logits');
    const answer = await invoke(servers.classifier.url, JSON.stringify({ inputs: texts, parameters: { top_k: null } }));
    expect(answer.status, answer.text).toBe(200);
    const scored = answer.json() as { label: string; score: number }[][];
    const labels = ['negative', 'neutral', 'positive'];
    scored.forEach((classes, i) => {
      const p = softmax(logits[i]!);
      expect(classes.map((c) => c.label).sort()).toEqual([...labels].sort());
      expect(classes[0]!.label).toBe(labels[argmax(p)]);
      for (const c of classes) expect(c.score).toBeCloseTo(p[labels.indexOf(c.label)]!, 5);
    });
  });

  it('answers the same through the AWS SDK InvokeEndpoint, top_k 1 by default', async () => {
    const [logits] = await directEncoder('classifier', [texts[0]!], 'logits');
    const response = await sdk.send(new InvokeEndpointCommand({ EndpointName: 'classifier', ContentType: 'application/json', Body: JSON.stringify({ inputs: texts[0] }) }));
    const answer = JSON.parse(new TextDecoder().decode(response.Body)) as { label: string; score: number }[];
    expect(answer).toHaveLength(1);
    expect(answer[0]!.label).toBe(['negative', 'neutral', 'positive'][argmax(logits!)]);
  });

  it('truncates a text longer than the model\'s positions keeping [CLS] and [SEP], and says so; truncation false is a 400', async () => {
    const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    const answer = await invoke(servers.classifier.url, JSON.stringify({ inputs: long }));
    expect(answer.status, answer.text).toBe(200);
    expect((answer.json() as { truncated?: boolean }[])[0]!.truncated).toBe(true);
    const e = bert.encode(long).ids;
    const cut = [...e.slice(0, bertConfig.maxPositions - 1), 102];
    const session = await createSession(new Uint8Array(await readFile(path.join(exportDir('classifier'), 'model.onnx'))), { device: 'cpu', intraOpNumThreads: 1 });
    const dims = [1, cut.length];
    const direct = (await session.run({ input_ids: ids(cut, dims), attention_mask: ids(cut.map(() => 1), dims), token_type_ids: ids(cut.map(() => 0), dims) })).logits!.data as Float32Array;
    await session.release();
    expect((answer.json() as { score: number }[])[0]!.score).toBeCloseTo(Math.max(...softmax(direct)), 5);
    const refused = await invoke(servers.classifier.url, JSON.stringify({ inputs: long, parameters: { truncation: false } }));
    expect(refused.status).toBe(400);
    expect((refused.json() as { message: string }).message).toMatch(/over this model's 32 positions/);
  });
});

describe('a BERT class feature-extraction export packaged and served', () => {
  const texts = ['a short one', 'and a rather longer sentence than the first'];

  it('answers the mean of last_hidden_state over the real tokens (padding in the batch changes nothing), normalised on request', async () => {
    const hidden = await directEncoder('encoder', texts, 'last_hidden_state');
    const expected = hidden.map((h) => {
      const tokens = h.length / bertConfig.hidden;
      return Array.from({ length: bertConfig.hidden }, (_, c) => Array.from({ length: tokens }, (_, t) => h[t * bertConfig.hidden + c]!).reduce((a, b) => a + b, 0) / tokens);
    });
    const answer = await invoke(servers.encoder.url, JSON.stringify({ inputs: texts }));
    expect(answer.status, answer.text).toBe(200);
    const embeddings = answer.json() as number[][];
    expect(embeddings).toHaveLength(2);
    embeddings.forEach((e, i) => e.forEach((x, c) => expect(x).toBeCloseTo(expected[i]![c]!, 4)));
    const normalized = (await invoke(servers.encoder.url, JSON.stringify({ inputs: texts[1], parameters: { normalize: true } }))).json() as number[][];
    const norm = Math.hypot(...expected[1]!);
    normalized[0]!.forEach((x, c) => expect(x).toBeCloseTo(expected[1]![c]! / norm, 5));
    expect(Math.hypot(...normalized[0]!)).toBeCloseTo(1, 5);
  });

  it('answers every token\'s vector with pooling "none"', async () => {
    const [hidden] = await directEncoder('encoder', [texts[0]!], 'last_hidden_state');
    const tokens = (await invoke(servers.encoder.url, JSON.stringify({ inputs: texts[0], parameters: { pooling: 'none' } }))).json() as number[][][];
    expect(tokens[0]).toHaveLength(bert.encode(texts[0]!).ids.length);
    tokens[0]!.forEach((v, t) => v.forEach((x, c) => expect(x).toBeCloseTo(hidden![t * bertConfig.hidden + c]!, 4)));
  });

  it('a bad parameter is a 400 naming it', async () => {
    const answer = await invoke(servers.encoder.url, JSON.stringify({ inputs: 'x', parameters: { pooling: 'max' } }));
    expect(answer.status).toBe(400);
    expect((answer.json() as { message: string }).message).toMatch(/parameters.pooling must be "mean"/);
  });
});

describe('a package is sealed like a trained model', () => {
  // generation_config.json sets the eos ids and the request defaults: as much a part of the model as its weights.
  const files = [['classifier', 'model.onnx'], ['classifier', 'tokenizer.json'], ['classifier', 'config.json'], ['gpt2', 'generation_config.json']] as const;
  for (const [model, file] of files) {
    it(`a changed ${file} stops it serving: the load fails naming the file, /ping never answers 200`, async () => {
      const copy = path.join(root, `tampered-${file}`);
      await cp(folders[model].dir, copy, { recursive: true });
      const bytes = await readFile(path.join(copy, file));
      bytes[bytes.length - 2] ^= 1;
      await writeFile(path.join(copy, file), bytes);
      await expect(loadServedModel(copy)).rejects.toThrow(`changed: ${file}`);
      const server = await startLocalServer(copy);
      try {
        await server.server.ready.catch(() => undefined);
        expect((await fetch(`${server.url}/ping`)).status).not.toBe(200);
        expect((await invoke(server.url, JSON.stringify({ inputs: 'x' }))).status).not.toBe(200);
      } finally {
        await server.close().catch(() => undefined);
      }
    });
  }
});

describe('a folder that is not a usable export is refused by name', () => {
  it('without tokenizer.json', async () => {
    const dir = path.join(root, 'no-tokenizer');
    await cp(exportDir('classifier'), dir, { recursive: true });
    await unlink(path.join(dir, 'tokenizer.json'));
    await expect(packagePretrainedModel(dir, { task: 'text-classification', output: path.join(root, 'x.tar.gz') })).rejects.toThrow(/has no tokenizer\.json/);
  });

  it('with the wrong outputs for the task', async () => {
    await expect(packagePretrainedModel(exportDir('encoder'), { task: 'text-classification', output: path.join(root, 'x.tar.gz') })).rejects.toThrow(/not a text-classification export: no output logits/);
  });

  it('whose config.json disagrees with the ONNX file', async () => {
    const dir = path.join(root, 'mismatch');
    await cp(exportDir('classifier'), dir, { recursive: true });
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...config, id2label: { 0: 'no', 1: 'yes' }, num_labels: 2 }));
    await expect(packagePretrainedModel(dir, { task: 'text-classification', output: path.join(root, 'x.tar.gz') })).rejects.toThrow(/logits is \(batch_size, 3\).*one score per label/);

    const gpt = path.join(root, 'gpt-mismatch');
    await cp(exportDir('gpt2'), gpt, { recursive: true });
    const gptJson = JSON.parse(await readFile(path.join(gpt, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(gpt, 'config.json'), JSON.stringify({ ...gptJson, n_layer: 3 }));
    await expect(packagePretrainedModel(gpt, { task: 'text-generation', output: path.join(root, 'x.tar.gz') })).rejects.toThrow(/no input past_key_values\.2\.key, past_key_values\.2\.value; no output present\.2\.key/);
  });
});

describe('the other export layouts and score functions', () => {
  it('a multi_label_classification export scores each label by its sigmoid; function_to_apply overrides it', async () => {
    const dir = path.join(root, 'exports', 'multi-label');
    await writeBertExportFolder(dir, { task: 'text-classification', labels: ['toxic', 'obscene', 'threat'], problemType: 'multi_label_classification', seed: 9 });
    const packaged = await packagePretrainedModel(dir, { task: 'text-classification', output: path.join(root, 'multi-label.tar.gz') });
    expect(packaged.description.scores).toBe('sigmoid');
    const folder = await openModel(packaged.archive);
    const server = await startLocalServer(folder.dir);
    try {
      await server.server.ready;
      const session = await createSession(new Uint8Array(await readFile(path.join(dir, 'model.onnx'))), { device: 'cpu', intraOpNumThreads: 1 });
      const e = bert.encode('you are awful', { return_token_type_ids: true });
      const dims = [1, e.ids.length];
      const logits = (await session.run({ input_ids: ids(e.ids, dims), attention_mask: ids(e.attention_mask, dims), token_type_ids: ids(e.token_type_ids, dims) })).logits!.data as Float32Array;
      await session.release();
      const labels = ['toxic', 'obscene', 'threat'];
      const scores = async (parameters: object): Promise<Record<string, number>> => {
        const answer = await invoke(server.url, JSON.stringify({ inputs: 'you are awful', parameters: { top_k: null, ...parameters } }));
        expect(answer.status, answer.text).toBe(200);
        return Object.fromEntries((answer.json() as { label: string; score: number }[]).map((c) => [c.label, c.score]));
      };
      const sigmoid = await scores({});
      labels.forEach((l, i) => expect(sigmoid[l]).toBeCloseTo(1 / (1 + Math.exp(-logits[i]!)), 5));
      const raw = await scores({ function_to_apply: 'none' });
      labels.forEach((l, i) => expect(raw[l]).toBeCloseTo(logits[i]!, 5));
      const refused = await invoke(server.url, JSON.stringify({ inputs: 'x', parameters: { function_to_apply: 'argmax' } }));
      expect(refused.status).toBe(400);
    } finally {
      await server.close();
      await folder.cleanup();
    }
  });

  it('a sentence-transformers export (token_embeddings, not last_hidden_state) is pooled the same way', async () => {
    const dir = path.join(root, 'exports', 'sentence-transformers');
    await writeBertExportFolder(dir, { task: 'feature-extraction', output: 'token_embeddings' }); // the encoder's seed: the same weights
    const packaged = await packagePretrainedModel(dir, { task: 'feature-extraction', output: path.join(root, 'st.tar.gz') });
    const folder = await openModel(packaged.archive);
    const server = await startLocalServer(folder.dir);
    try {
      await server.server.ready;
      const body = JSON.stringify({ inputs: ['one text', 'and another one'], parameters: { normalize: true } });
      const answer = await invoke(server.url, body);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json()).toEqual((await invoke(servers.encoder.url, body)).json());
    } finally {
      await server.close();
      await folder.cleanup();
    }
  });

  it('a GPT-2 class model.onnx (text-generation-with-past without the merged branch) generates the same greedy tokens', async () => {
    const dir = path.join(root, 'exports', 'gpt2-unmerged');
    await writeGpt2ExportFolder(dir, { merged: false });
    const packaged = await packagePretrainedModel(dir, { task: 'text-generation', output: path.join(root, 'gpt2-unmerged.tar.gz') });
    expect(packaged.onnxFile).toBe('model.onnx');
    const folder = await openModel(packaged.archive);
    const server = await startLocalServer(folder.dir);
    try {
      await server.server.ready;
      const expected = await directGreedy(gpt2.encode('Hello world').ids, 12);
      const answer = await invoke(server.url, JSON.stringify({ inputs: 'Hello world', parameters: { max_new_tokens: 12, do_sample: false } }));
      expect((answer.json() as [{ generated_text: string }])[0].generated_text).toBe(gpt2.decode(expected, { clean_up_tokenization_spaces: false }));
    } finally {
      await server.close();
      await folder.cleanup();
    }
  });
});
