/**
 * The eos token's line in a TGI stream: TGI sends the eos token with its own text
 * ("<|endoftext|>") and `special: true`, and leaves it out of generated_text. The model here is
 * trained on separate documents ("hello world."), which training joins with <|endoftext|>, so its
 * greedy continuation of "hello wor" ends with the eos token.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimePaths } from '../../model-runtime/src/contract/paths.ts';
import { trainTinyLanguageModel } from './fixtures/language-model.ts';
import { invoke, startLocalServer, type LocalServer } from './fixtures/local-server.ts';
import { tokenLines, type TokenLine } from './fixtures/tgi-line.ts';

let paths: RuntimePaths;
let server: LocalServer;

beforeAll(async () => {
  paths = await trainTinyLanguageModel(Array.from({ length: 120 }, () => 'hello world.'));
  server = await startLocalServer(paths.model);
  await server.server.ready;
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (paths !== undefined) await rm(paths.root, { recursive: true, force: true });
});


const streamed = async (body: object): Promise<TokenLine[]> => tokenLines((await invoke(server.url, JSON.stringify({ ...body, stream: true }))).text);
const generated = async (body: object): Promise<string> => ((await invoke(server.url, JSON.stringify(body))).json() as [{ generated_text: string }])[0].generated_text;

describe('the eos token in a stream', () => {
  it('arrives as its own text, "<|endoftext|>", with special true, and generated_text leaves it out', async () => {
    const request = { inputs: 'hello wor', parameters: { max_new_tokens: 12 } };
    const lines = await streamed(request);
    const last = lines.at(-1)!;
    expect(last.details?.finish_reason).toBe('eos_token');
    expect(last.token).toMatchObject({ text: '<|endoftext|>', special: true });
    for (const line of lines.slice(0, -1)) expect(line.token.special).toBe(false);
    const ordinary = lines.filter((line) => !line.token.special).map((line) => line.token.text).join('');
    expect(last.generated_text).toBe(ordinary);
    expect(last.generated_text).not.toContain('<|endoftext|>');
    expect(last.generated_text).toBe(await generated(request));
    expect(last.details?.generated_tokens).toBe(lines.length);
  });

  it('sends the text held back for a possible stop sequence on an ordinary line before the eos line', async () => {
    // "." could begin the stop sequence ".x", so it is held until the next token, which is the eos.
    const request = { inputs: 'hello wor', parameters: { max_new_tokens: 12, stop: ['.x'] } };
    const lines = await streamed(request);
    const [held, eos] = lines.slice(-2);
    expect(eos!.token).toMatchObject({ text: '<|endoftext|>', special: true });
    expect(held!.token).toMatchObject({ text: '.', special: false, id: eos!.token.id });
    expect(eos!.generated_text).toBe(lines.filter((line) => !line.token.special).map((line) => line.token.text).join(''));
    expect(eos!.generated_text).toBe(await generated(request));
    expect(eos!.generated_text!.endsWith('.')).toBe(true);
  });
});
