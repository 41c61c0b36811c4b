/**
 * `modelstack package <folder> --task text-generation` and `modelstack generate` as a user runs
 * them: a GPT-2 class export folder (fixtures/hf-exports.ts) sealed from the command line, its
 * summary printed, then continued greedily by generate; a folder the task cannot use, or whose
 * generation_config.json holds a value out of range, exits non-zero with the reason.
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../../bin/cli/model-source.ts';
import { loadServedModel } from '../../model-runtime/src/serve/load-served-model.ts';
import { writeBertExportFolder, writeGpt2ExportFolder } from '../serve/fixtures/hf-exports.ts';
import { runCli } from '../serve/fixtures/spawn-cli.ts';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-package-pretrained-cli-'));
  await writeGpt2ExportFolder(path.join(work, 'gpt2-onnx'));
  await writeBertExportFolder(path.join(work, 'encoder-onnx'), { task: 'feature-extraction' });
}, 60_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('modelstack package <folder> --task ...', () => {
  it('seals a GPT-2 class export that modelstack generate then continues', async () => {
    const archive = path.join(work, 'gpt2.tar.gz');
    const pack = runCli(['package', path.join(work, 'gpt2-onnx'), '--task', 'text-generation', '-o', archive]);
    expect(await pack.exited, pack.stderr()).toBe(0);
    expect(pack.stdout()).toMatch(/model digest: [0-9a-f]{64}/);
    expect(pack.stdout()).toMatch(/text-generation: gpt2 from decoder_model_merged\.onnx, 64 positions, 50257 tokens/);
    const generate = runCli(['generate', archive, 'Hello world', '--max-new-tokens', '6']);
    expect(await generate.exited, generate.stderr()).toBe(0);
    // The text printed is the greedy continuation the served model answers.
    const folder = await openModel(archive);
    const served = await loadServedModel(folder.dir, { threads: 1 });
    try {
      const answer = await served.invoke(new TextEncoder().encode(JSON.stringify({ inputs: 'Hello world', parameters: { max_new_tokens: 6, do_sample: false } })), { contentType: 'application/json', accept: 'application/json', eventStream: false });
      const text = (JSON.parse((answer as { body: string }).body) as [{ generated_text: string }])[0].generated_text;
      expect(text.length).toBeGreaterThan(0);
      expect(generate.stdout()).toContain(text);
    } finally {
      await served.close();
      await folder.cleanup();
    }
  }, 60_000);

  it("takes generation_config.json's max_new_tokens when --max-new-tokens is left out", async () => {
    const folder = path.join(work, 'three-new-tokens');
    await writeGpt2ExportFolder(folder, { generationConfig: { eos_token_id: 50256, max_new_tokens: 3 } });
    const archive = path.join(work, 'three.tar.gz');
    const pack = runCli(['package', folder, '--task', 'text-generation', '-o', archive]);
    expect(await pack.exited, pack.stderr()).toBe(0);
    const continuation = async (...options: string[]): Promise<string> => {
      const run = runCli(['generate', archive, 'Hello world', ...options]);
      expect(await run.exited, run.stderr()).toBe(0);
      return run.stdout();
    };
    const byDefault = await continuation();
    // Greedy both times: the default's 3 tokens are the start of 8, and the same as asking for 3.
    const eight = await continuation('--max-new-tokens', '8');
    expect(byDefault).toBe(await continuation('--max-new-tokens', '3'));
    expect(eight.startsWith(byDefault.trimEnd())).toBe(true);
    expect(eight.length).toBeGreaterThan(byDefault.length);
  }, 60_000);

  it('exits non-zero naming what the folder lacks for the task', async () => {
    const pack = runCli(['package', path.join(work, 'encoder-onnx'), '--task', 'text-generation', '-o', path.join(work, 'x.tar.gz')]);
    expect(await pack.exited).not.toBe(0);
    expect(pack.stderr()).toMatch(/has no model\.onnx or decoder_model_merged\.onnx or decoder_with_past_model\.onnx|not a text-generation/);
  }, 60_000);

  it('exits non-zero naming the generation_config.json field that is out of range, and writes no archive', async () => {
    const folder = path.join(work, 'bad-generation-config');
    await writeGpt2ExportFolder(folder, { generationConfig: { eos_token_id: 50256, top_p: 2 } });
    const archive = path.join(work, 'bad.tar.gz');
    const pack = runCli(['package', folder, '--task', 'text-generation', '-o', archive]);
    expect(await pack.exited).not.toBe(0);
    expect(pack.stderr()).toMatch(/generation_config\.json: top_p must be a number in \(0, 1\] \(1 = off\), got 2/);
    await expect(access(archive)).rejects.toThrow(/ENOENT/);
  }, 60_000);
});
