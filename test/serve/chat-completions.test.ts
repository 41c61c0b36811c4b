/**
 * Chat models as TGI's Messages API and SageMaker's LMI serve them: a GPT-2 class export
 * (fixtures/hf-exports.ts) with a ChatML-style chat template in tokenizer_config.json, sealed by
 * `modelstack package`, served over real HTTP on loopback, and asked with OpenAI's `messages`.
 *
 * - the template renders the messages as transformers' apply_chat_template does (bos_token from
 *   tokenizer_config.json, the assistant's turn opened), and the render is tokenized without a
 *   second BOS although the tokenizer's post-processor adds one to a plain prompt (as a Llama's);
 * - the answer is OpenAI's chat completion, its content the greedy tokens ONNX Runtime computes
 *   directly over the rendered prompt's ids (fixtures/direct-greedy.ts), its usage those counts;
 *   a stop sequence or the eos token ends it with finish_reason "stop", left out of the content;
 * - streamed, as Server-Sent Events on /invocations and through the AWS SDK's
 *   InvokeEndpointWithResponseStream, the deltas add up to the same content, then [DONE]; and
 *   `modelstack invoke --stream` prints that content;
 * - a model without a template, bad messages and unsupported OpenAI parameters are 400s naming
 *   what is wrong; a template that does not parse fails packaging; the packaged
 *   chat_template.jinja is sealed.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvokeEndpointWithResponseStreamCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelFolder } from '../../bin/cli/model-source.ts';
import { packagePretrainedModel } from '../../bin/cli/package.ts';
import type { GptConfig } from '../../model-runtime/src/models/gpt.ts';
import { loadServedModel } from '../../model-runtime/src/serve/load-served-model.ts';
import { ChatTemplate } from '../../model-runtime/src/text/chat-template.ts';
import { loadLibraryTokenizer, PretrainedTokenizer } from '../../model-runtime/src/text/pretrained-tokenizer.ts';
import { directGreedy } from './fixtures/direct-greedy.ts';
import { ServedExports } from './fixtures/served-exports.ts';
import { runCli } from './fixtures/spawn-cli.ts';
import { GPT2_END_OF_TEXT, writeGpt2ExportFolder, type Gpt2ExportFolderOptions } from './fixtures/hf-exports.ts';
import { invoke, type LocalServer } from './fixtures/local-server.ts';

/**
 * ChatML as Qwen's and SmolLM's templates write it, with a BOS first and a raise_exception as many
 * templates have; on one line, as a newline after `}}` is text (trim_blocks drops only those after `%}`).
 */
const CHATML = [
  "{% if messages[0]['role'] == 'assistant' %}{{ raise_exception('Conversations must start with a system or user message') }}{% endif %}",
  '{{ bos_token }}',
  '{% for message in messages %}',
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}",
  '{% endfor %}',
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
].join('');

const MESSAGES = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Hello world' },
];
const RENDERED = '<|endoftext|><|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHello world<|im_end|>\n<|im_start|>assistant\n';
const MAX_TOKENS = 8;

let root: string;
let config: GptConfig;
let gpt2: Tokenizer;
/** The rendered prompt's ids, tokenized without special tokens. */
let promptIds: number[];
/** Greedy tokens after them, computed directly. */
let greedy: number[];
let chat: { server: LocalServer; folder: ModelFolder };
let plain: { server: LocalServer; folder: ModelFolder };
const served = new ServedExports(() => root);

const exportDir = (name: string): string => served.dir(name);
const text = (ids: readonly number[]): string => gpt2.decode([...ids], { clean_up_tokenization_spaces: false });

const serveExport = (name: string, options: Gpt2ExportFolderOptions): ReturnType<ServedExports['serve']> => served.serve(name, options);

interface Completion {
  readonly id: string;
  readonly object: string;
  readonly created: number;
  readonly model: string;
  readonly choices: readonly { readonly index: number; readonly message: { readonly role: string; readonly content: string }; readonly finish_reason: string }[];
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number; readonly total_tokens: number };
}

interface Chunk {
  readonly id: string;
  readonly object: string;
  readonly choices: readonly { readonly index: number; readonly delta: { readonly role?: string; readonly content?: string }; readonly finish_reason: string | null }[];
  readonly usage?: Completion['usage'];
}

async function complete(server: LocalServer, body: object): Promise<Completion> {
  const answer = await invoke(server.url, JSON.stringify(body));
  expect(answer.status, answer.text).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  return answer.json() as Completion;
}

/** The `data:` events of a Server-Sent Events body: the chunks, and whether [DONE] came last. */
function events(body: string): { chunks: Chunk[]; done: boolean } {
  const data = body.split('\n\n').filter((e) => e.trim() !== '').map((e) => {
    expect(e.startsWith('data: '), e).toBe(true);
    return e.slice('data: '.length);
  });
  return { chunks: data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as Chunk), done: data.at(-1) === '[DONE]' && data.indexOf('[DONE]') === data.length - 1 };
}

const content = (chunks: readonly Chunk[]): string => chunks.flatMap((c) => c.choices).map((c) => c.delta.content ?? '').join('');

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  root = await mkdtemp(path.join(os.tmpdir(), 'modelstack-chat-test-'));
  chat = await serveExport('chat', { tokenizerConfig: { chat_template: CHATML }, bosPostProcessor: true });
  plain = await serveExport('plain', {});
  config = { vocabSize: 50257, contextLength: 64, nLayer: 2, nHead: 2, nEmbd: 16, bias: true, dropout: 0 };
  gpt2 = new Tokenizer(JSON.parse(await readFile(path.join(exportDir('chat'), 'tokenizer.json'), 'utf8')) as object, {});
  promptIds = gpt2.encode(RENDERED, { add_special_tokens: false }).ids;
  greedy = await directGreedy(path.join(exportDir('chat'), 'decoder_model_merged.onnx'), config, promptIds, MAX_TOKENS, [GPT2_END_OF_TEXT]);
  // The cases below expect MAX_TOKENS tokens, none of them the eos.
  expect(greedy).toHaveLength(MAX_TOKENS);
}, 120_000);

afterAll(async () => {
  await served.close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('the chat template', () => {
  it("renders the messages as apply_chat_template does: tokenizer_config.json's bos_token first, the assistant's turn opened", async () => {
    const files = (name: string): Promise<string> => readFile(path.join(chat.folder.dir, name), 'utf8');
    const template = ChatTemplate.fromFiles({ chatTemplateJinja: null, tokenizerConfigJson: await files('tokenizer_config.json'), source: chat.folder.dir });
    expect(template!.render(MESSAGES.map((m) => ({ ...m, role: m.role as 'system' | 'user' })))).toBe(RENDERED);
  });

  it('its render is tokenized without a second BOS, where a plain prompt gets the post-processor\'s', async () => {
    const tokenizer = new PretrainedTokenizer(loadLibraryTokenizer({ tokenizerJson: await readFile(path.join(chat.folder.dir, 'tokenizer.json'), 'utf8'), tokenizerConfigJson: null, source: 'chat' }));
    const rendered = tokenizer.encodeRendered(RENDERED);
    expect(rendered).toEqual(promptIds);
    expect(rendered.filter((id) => id === GPT2_END_OF_TEXT)).toHaveLength(1);
    expect(tokenizer.encode(RENDERED).slice(0, 2)).toEqual([GPT2_END_OF_TEXT, GPT2_END_OF_TEXT]);
  });
});

describe('a chat completion', () => {
  it("is OpenAI's shape, its content the direct greedy tokens over the rendered prompt, its usage their counts", async () => {
    const answer = await complete(chat.server, { model: 'my-chat', messages: MESSAGES, max_tokens: MAX_TOKENS, temperature: 0 });
    expect(answer.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(answer.object).toBe('chat.completion');
    expect(Math.abs(answer.created - Date.now() / 1000)).toBeLessThan(60);
    expect(answer.model).toBe('my-chat');
    expect(answer.choices).toEqual([{ index: 0, message: { role: 'assistant', content: text(greedy) }, logprobs: null, finish_reason: 'length' }]);
    expect(answer.usage).toEqual({ prompt_tokens: promptIds.length, completion_tokens: MAX_TOKENS, total_tokens: promptIds.length + MAX_TOKENS });
    // max_completion_tokens is the same setting under OpenAI's newer name; the model's type answers for a request without "model".
    const newer = await complete(chat.server, { messages: MESSAGES, max_completion_tokens: 3, temperature: 0 });
    expect(newer.choices[0]!.message.content).toBe(text(greedy.slice(0, 3)));
    expect(newer.model).toBe('gpt2');
  });

  it('a stop sequence ends it with finish_reason "stop", left out of the content as OpenAI leaves it', async () => {
    const stop = text(greedy.slice(1, 2));
    expect(text(greedy.slice(0, 1))).not.toContain(stop);
    const answer = await complete(chat.server, { messages: MESSAGES, max_tokens: MAX_TOKENS, temperature: 0, stop });
    expect(answer.choices[0]!.finish_reason).toBe('stop');
    expect(answer.choices[0]!.message.content).toBe(text(greedy.slice(0, 1)));
    expect(answer.usage.completion_tokens).toBe(2);
  });

  it('the eos token ends it with finish_reason "stop", counted in completion_tokens, its text not in the content', async () => {
    expect(greedy.indexOf(greedy[3]!)).toBe(3);
    const eos = await serveExport('chat-eos', { tokenizerConfig: { chat_template: CHATML }, bosPostProcessor: true, generationConfig: { bos_token_id: GPT2_END_OF_TEXT, eos_token_id: [GPT2_END_OF_TEXT, greedy[3]!] } });
    const answer = await complete(eos.server, { messages: MESSAGES, max_tokens: MAX_TOKENS, temperature: 0 });
    expect(answer.choices[0]).toMatchObject({ message: { content: text(greedy.slice(0, 3)) }, finish_reason: 'stop' });
    expect(answer.usage).toEqual({ prompt_tokens: promptIds.length, completion_tokens: 4, total_tokens: promptIds.length + 4 });
  });

  it('the same seed samples the same answer (no temperature: sampling, as TGI\'s Messages API does)', async () => {
    const a = await complete(chat.server, { messages: MESSAGES, max_tokens: MAX_TOKENS, seed: 11 });
    const b = await complete(chat.server, { messages: MESSAGES, max_tokens: MAX_TOKENS, seed: 11, temperature: 1 });
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
  });
});

describe('a streamed chat completion', () => {
  it('sends chunks whose deltas add up to the non-streamed content, the role first, finish_reason last, usage when asked, then [DONE]', async () => {
    const body = { messages: MESSAGES, max_tokens: MAX_TOKENS, temperature: 0, stream: true, stream_options: { include_usage: true } };
    const headerSets: readonly Record<string, string>[] = [{ 'content-type': 'application/json', accept: 'text/event-stream' }, { 'content-type': 'application/json' }];
    for (const headers of headerSets) {
      const answer = await invoke(chat.server.url, JSON.stringify(body), headers);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const { chunks, done } = events(answer.text);
      expect(done).toBe(true);
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
      expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
      expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
      expect(content(chunks)).toBe(text(greedy));
      const last = chunks.at(-2)!;
      expect(last.choices[0]).toMatchObject({ delta: {}, finish_reason: 'length' });
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: promptIds.length, completion_tokens: MAX_TOKENS, total_tokens: promptIds.length + MAX_TOKENS } });
    }
  });

  it('leaves a stop sequence out of the deltas too', async () => {
    const stop = text(greedy.slice(1, 2));
    const answer = await invoke(chat.server.url, JSON.stringify({ messages: MESSAGES, max_tokens: MAX_TOKENS, temperature: 0, stop: [stop], stream: true }));
    const { chunks, done } = events(answer.text);
    expect(done).toBe(true);
    expect(content(chunks)).toBe(text(greedy.slice(0, 1)));
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
  });

  it("arrives whole through the AWS SDK's InvokeEndpointWithResponseStream", async () => {
    const client = new SageMakerRuntimeClient({ endpoint: chat.server.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    try {
      const response = await client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'chat', ContentType: 'application/json', Body: JSON.stringify({ messages: MESSAGES, max_tokens: MAX_TOKENS, temperature: 0, stream: true }) }));
      expect(response.ContentType).toBe('text/event-stream');
      const decoder = new TextDecoder();
      let body = '';
      for await (const event of response.Body!) if (event.PayloadPart?.Bytes !== undefined) body += decoder.decode(event.PayloadPart.Bytes, { stream: true });
      const { chunks, done } = events(body);
      expect(done).toBe(true);
      expect(content(chunks)).toBe(text(greedy));
    } finally {
      client.destroy();
    }
  });
});

describe('`modelstack invoke --stream` with a chat body', () => {
  it('adds "stream": true and prints the deltas as they arrive: the content, nothing of the chunks around it', async () => {
    const cli = runCli(['invoke', 'chat', '--local', chat.server.url, '--stream', '--body', JSON.stringify({ messages: MESSAGES, max_tokens: MAX_TOKENS, temperature: 0 })]);
    expect(await cli.exited, cli.stderr()).toBe(0);
    expect(cli.stdout()).toBe(`${text(greedy)}\n`);
  }, 30_000);
});

describe('refused chat requests', () => {
  const refused = async (server: LocalServer, body: object, message: RegExp): Promise<void> => {
    const answer = await invoke(server.url, JSON.stringify(body));
    expect(answer.status, answer.text).toBe(400);
    expect((answer.json() as { message: string }).message).toMatch(message);
  };

  it('a model without a chat template says so, naming the files that would hold one', async () => {
    await refused(plain.server, { messages: MESSAGES }, /no chat template \(chat_template\.jinja or tokenizer_config\.json's "chat_template"/);
  });

  const cases: readonly [string, object, RegExp][] = [
    ['a message without a role', { messages: [{ content: 'hi' }] }, /messages\[0\]\.role is missing/],
    ['an unknown role', { messages: [{ role: 'user', content: 'hi' }, { role: 'tool', content: 'x' }] }, /messages\[1\]\.role must be one of system, user, assistant, got "tool"/],
    ['content that is not a string', { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }, /messages\[0\]\.content must be a string/],
    ['no messages', { messages: [] }, /messages must be a non-empty list/],
    ['n 2', { messages: MESSAGES, n: 2 }, /n is not supported by this endpoint \(several choices per request\), got 2/],
    ['logprobs true', { messages: MESSAGES, logprobs: true }, /logprobs is not supported/],
    ['temperature 3', { messages: MESSAGES, temperature: 3 }, /temperature must be a number from 0 to 2 \(0 = greedy\), got 3/],
    ['an unknown key', { messages: MESSAGES, inputs: 'x' }, /unknown key "inputs" in the chat request/],
    ['messages longer than the context', { messages: [{ role: 'user', content: 'word '.repeat(80) }] }, /the prompt is \d+ tokens, more than the model's context length of 64 tokens/],
    ["the template's raise_exception", { messages: [{ role: 'assistant', content: 'hi' }] }, /chat template \(tokenizer_config\.json\) refused the messages: Conversations must start with a system or user message/],
  ];
  for (const [what, body, message] of cases) it(what, () => refused(chat.server, body, message));
});

describe('packaging a chat template', () => {
  it('refuses one that does not parse, naming the file and the Jinja error', async () => {
    await writeGpt2ExportFolder(exportDir('broken-jinja'), { chatTemplateJinja: '{{ messages[0].content + }}' });
    await expect(packagePretrainedModel(exportDir('broken-jinja'), { task: 'text-generation', output: path.join(root, 'x.tar.gz') }))
      .rejects.toThrow(/broken-jinja\/chat_template\.jinja: the chat template does not parse as Jinja: Unexpected token/);
    await writeGpt2ExportFolder(exportDir('broken-config'), { tokenizerConfig: { chat_template: '{% for m in messages %}{{ m.content }' } });
    await expect(packagePretrainedModel(exportDir('broken-config'), { task: 'text-generation', output: path.join(root, 'x.tar.gz') }))
      .rejects.toThrow(/broken-config\/tokenizer_config\.json: the chat template does not parse as Jinja/);
  });

  it('refuses a list of named templates without a "default"', async () => {
    await writeGpt2ExportFolder(exportDir('no-default'), { tokenizerConfig: { chat_template: [{ name: 'tool_use', template: '{{ messages }}' }] } });
    await expect(packagePretrainedModel(exportDir('no-default'), { task: 'text-generation', output: path.join(root, 'x.tar.gz') }))
      .rejects.toThrow(/chat_template list has no "default" entry.*"tool_use"/);
  });

  it("seals chat_template.jinja, which wins over tokenizer_config.json's: edited, the package does not load", async () => {
    const jinja = await serveExport('jinja-file', { chatTemplateJinja: CHATML, tokenizerConfig: { chat_template: [{ name: 'default', template: 'unused' }] } });
    const answer = await complete(jinja.server, { messages: MESSAGES, max_tokens: 3, temperature: 0 });
    expect(answer.usage.prompt_tokens).toBe(promptIds.length);
    expect(answer.choices[0]!.message.content).toBe(text(greedy.slice(0, 3)));
    const file = path.join(jinja.folder.dir, 'chat_template.jinja');
    expect(await readFile(file, 'utf8')).toBe(CHATML);
    await writeFile(file, '{{ messages[0].content }}');
    await expect(loadServedModel(jinja.folder.dir)).rejects.toThrow(/changed: chat_template\.jinja/);
  });
});
