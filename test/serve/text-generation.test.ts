/**
 * A language model trained through the training contract, saved, loaded and served: Hugging
 * Face's text-generation schema over /invocations and over the AWS SDK's InvokeEndpoint (the
 * runtime API path); greedy continuations, return_full_text, stop sequences, reproducible
 * seeded sampling, a window that slides, TGI's penalties; 400s that name the bad parameter (TGI's
 * parameters this runtime cannot honour among them), the max_new_tokens limit, and a prompt
 * longer than the context.
 */
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimePaths } from '../../model-runtime/src/contract/paths.ts';
import { runTraining } from '../../model-runtime/src/train/run.ts';
import { makeTree } from '../runtime/train/tree.ts';
import { invoke, startLocalServer, type LocalServer } from './fixtures/local-server.ts';

let paths: RuntimePaths;
let server: LocalServer;

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.env.MODEL_RUNTIME_MAX_NEW_TOKENS = '64';
  paths = await makeTree(
    { algorithm: 'language-model', tokenizer: 'char', n_layer: '1', n_head: '2', n_embd: '32', context_length: '16', batch_size: '16', max_steps: '150', eval_interval: '150', learning_rate: '0.01', warmup_steps: '10', seed: '1', validation_fraction: '0' },
    { train: { 'corpus.txt': 'hello world. '.repeat(60) } },
  );
  await runTraining(paths, { onEvent: () => {} });
  server = await startLocalServer(paths.model);
  await server.server.ready;
}, 60_000);

afterAll(async () => {
  delete process.env.MODEL_RUNTIME_MAX_NEW_TOKENS;
  await server?.close();
  if (paths !== undefined) await rm(paths.root, { recursive: true, force: true });
});

const generateText = async (body: unknown): Promise<{ status: number; json: () => unknown }> => invoke(server.url, JSON.stringify(body));

describe('text generation over /invocations', () => {
  it('continues the prompt greedily, with the prompt when return_full_text is true', async () => {
    const plain = await generateText({ inputs: 'hello wor', parameters: { max_new_tokens: 8 } });
    expect(plain.status).toBe(200);
    expect(plain.json()).toEqual([{ generated_text: 'ld. hell' }]);
    expect((await generateText({ inputs: 'hello wor', parameters: { max_new_tokens: 8, return_full_text: true } })).json()).toEqual([{ generated_text: 'hello world. hell' }]);
    // Defaults: greedy, 20 new tokens, more than the 16-position window holds with the prompt: it slides.
    expect((await generateText({ inputs: 'hello wor' })).json()).toEqual([{ generated_text: 'ld. hello world. hel' }]);
    expect(server.log.at(-1)).toMatchObject({ path: '/invocations', status: 200, rows: 1 });
  });

  it('stops at a stop sequence (kept in the text), and answers a list of prompts in order', async () => {
    expect((await generateText({ inputs: 'hel', parameters: { max_new_tokens: 30, stop: ['wor'] } })).json()).toEqual([{ generated_text: 'lo wor' }]);
    expect((await generateText({ inputs: ['hello', 'world.'], parameters: { max_new_tokens: 3 } })).json()).toEqual([[{ generated_text: ' wo' }], [{ generated_text: ' he' }]]);
  });

  it('samples reproducibly under a seed', async () => {
    const sampled = (seed: number) => generateText({ inputs: 'hello', parameters: { do_sample: true, temperature: 3, top_k: 10, seed, max_new_tokens: 24 } }).then((r) => r.json());
    const first = await sampled(7);
    expect(await sampled(7)).toEqual(first);
    const others = await Promise.all([8, 9, 10].map(sampled));
    expect(others.some((o) => JSON.stringify(o) !== JSON.stringify(first))).toBe(true);
  });

  it("takes TGI's repetition and frequency penalties, and a huggingface_hub body with its unset parameters null", async () => {
    // Below 1 the penalty favours the prompt's characters over 'd' and '.', which it lacks (this
    // trained model is too sure of its next character for one above 1 to move it).
    const penalised = (await generateText({ inputs: 'hello wor', parameters: { max_new_tokens: 8, repetition_penalty: 0.2 } })).json() as [{ generated_text: string }];
    expect(penalised[0].generated_text).toHaveLength(8);
    expect(penalised[0].generated_text).not.toBe('ld. hell');
    expect((await generateText({ inputs: 'hello wor', parameters: { max_new_tokens: 8, repetition_penalty: 1, frequency_penalty: 0 } })).json()).toEqual([{ generated_text: 'ld. hell' }]);
    // TGI's frequency penalty is per share of the history (count / length): at most 2 off a logit, too little to move this trained model.
    expect((await generateText({ inputs: 'hello wor', parameters: { max_new_tokens: 8, frequency_penalty: 2 } })).json()).toEqual([{ generated_text: 'ld. hell' }]);
    const hub = {
      inputs: 'hello wor',
      parameters: {
        max_new_tokens: 8, best_of: null, decoder_input_details: false, details: false, do_sample: false, frequency_penalty: null, grammar: null, repetition_penalty: null,
        return_full_text: false, seed: null, stop: [], temperature: null, top_k: null, top_n_tokens: null, top_p: null, truncate: null, typical_p: null, watermark: false, adapter_id: null,
      },
    };
    expect((await generateText(hub)).json()).toEqual([{ generated_text: 'ld. hell' }]);
  });

  it.each([
    [{ inputs: 'hello', parameters: { temperature: 0, do_sample: true } }, /parameter temperature must be a number above 0, got 0/],
    [{ inputs: 'hello', parameters: { max_new_tokens: 65 } }, /parameter max_new_tokens is 65, above this endpoint's limit of 64/],
    [{ inputs: 'hello', parameters: { max_new_tokens: 0 } }, /parameter max_new_tokens must be a whole number from 1 to 64, got 0/],
    [{ inputs: 'hello', parameters: { top_p: 2 } }, /parameter top_p must be a number in \(0, 1\], got 2/],
    [{ inputs: 'hello', parameters: { top_k: -1 } }, /parameter top_k must be a whole number >= 0/],
    [{ inputs: 'hello', parameters: { stop: [''] } }, /parameter stop must be a list of at most 16 non-empty strings/],
    [{ inputs: 'hello', parameters: { do_sample: 'yes' } }, /parameter do_sample must be true or false, got "yes"/],
    [{ inputs: 'hello', parameters: { repetition_penalty: 0 } }, /parameter repetition_penalty must be a number from 0\.01 to 100 \(1 = off\), got 0/],
    [{ inputs: 'hello', parameters: { frequency_penalty: 3 } }, /parameter frequency_penalty must be a number from -2 to 2 \(0 = off\), got 3/],
    [{ inputs: 'hello', parameters: { truncate: 0 } }, /parameter truncate must be a whole number >= 1 \(the prompt tokens to keep, from the end\), got 0/],
    [{ inputs: 'hello', parameters: { details: 'yes' } }, /parameter details must be true or false, got "yes"/],
    [{ inputs: 'hello', parameters: { grammar: { type: 'json', value: {} } } }, /parameter grammar is not supported by this endpoint \(constrained \(grammar or JSON schema\) decoding\), got \{"type":"json","value":\{\}\}; leave it out/],
    [{ inputs: 'hello', parameters: { best_of: 2 } }, /parameter best_of is not supported by this endpoint \(several sequences per prompt\), got 2; leave it out or send 1/],
    [{ inputs: 'hello', parameters: { watermark: true } }, /parameter watermark is not supported .*; leave it out or send false/],
    [{ inputs: 'hello', parameters: { typical_p: 0.9 } }, /parameter typical_p is not supported by this endpoint \(typical decoding\), got 0.9; leave it out/],
    [{ inputs: 'hello', parameters: { top_n_tokens: 3 } }, /parameter top_n_tokens is not supported .*; leave it out or send 0/],
    [{ inputs: 'hello', parameters: { decoder_input_details: true } }, /parameter decoder_input_details is not supported .*; leave it out or send false/],
    [{ inputs: 'hello', parameters: { length_penalty: 1.2 } }, /unknown parameter "length_penalty"; this endpoint takes max_new_tokens, temperature, .*repetition_penalty, frequency_penalty, truncate, details/],
    [{ inputs: 42 }, /"inputs" must be a prompt string or a non-empty list of prompt strings, got 42/],
    [{ prompt: 'hello' }, /unknown key "prompt" in the body/],
    [{ inputs: 'hello world. hello world.' }, /the prompt is 25 tokens, more than the model's context length of 16 tokens/],
  ])('refuses %j with a 400 that says what was wrong', async (body, message) => {
    const response = await generateText(body);
    expect(response.status).toBe(400);
    expect((response.json() as { message: string }).message).toMatch(message);
  });

  it('refuses a body that is not JSON, CSV, or an answer in CSV', async () => {
    expect((await invoke(server.url, 'not json')).status).toBe(400);
    expect((await invoke(server.url, 'hello', { 'content-type': 'text/csv' })).status).toBe(415);
    expect((await invoke(server.url, JSON.stringify({ inputs: 'hello' }), { 'content-type': 'application/json', accept: 'text/csv' })).status).toBe(406);
  });
});

describe('text generation through the AWS SDK (the runtime API path)', () => {
  it('answers InvokeEndpoint, and surfaces a bad parameter as ModelError with the message', async () => {
    const client = new SageMakerRuntimeClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    try {
      const response = await client.send(new InvokeEndpointCommand({ EndpointName: 'local-lm', ContentType: 'application/json', Body: JSON.stringify({ inputs: 'hello wor', parameters: { max_new_tokens: 8 } }) }));
      expect(JSON.parse(new TextDecoder().decode(response.Body))).toEqual([{ generated_text: 'ld. hell' }]);
      expect(server.log.at(-1)).toMatchObject({ path: '/endpoints/local-lm/invocations', status: 200 });
      const refused = client.send(new InvokeEndpointCommand({ EndpointName: 'local-lm', ContentType: 'application/json', Body: JSON.stringify({ inputs: 'hello', parameters: { max_new_tokens: 1000 } }) }));
      await expect(refused).rejects.toBeInstanceOf(ModelError);
      await expect(refused).rejects.toThrow(/limit of 64/);
    } finally {
      client.destroy();
    }
  });
});
