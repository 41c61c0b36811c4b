/**
 * Pretrained-size transformer inference: this runtime's inference graphs at the shapes of GPT-2
 * small and BERT-base, against the same architectures in PyTorch 1.13 on the CPU
 * (torch_peer.py), at equal threads, with the same random weights (written here).
 *
 * 1. GPT-2 small (12 layers, 12 heads, 768 wide, vocabulary 50,257, 1024 positions, biases,
 *    tied head): models/gpt.ts's inference graph, Hugging Face's text-generation-with-past
 *    layout, run by the serving path's CausalDecoder (models/generation-decoder.ts). Batch 1,
 *    greedy: a 32-token prompt, then 128 new tokens, each engine with its own KV cache. Reported:
 *    milliseconds per generated token over the 127 one-token steps (the prompt's pass apart),
 *    tokens/s, and whether both engines chose the same tokens.
 * 2. BERT-base shape (12 layers, 12 heads, 768 wide, FFN 3072, vocabulary 30,522, 512
 *    positions, sequence 128, 2 classes): models/text-classifier.ts's inference graph (pre-norm
 *    blocks, mean pooling, softmax head; not BERT's post-norm and pooler, same FLOPs within a
 *    fraction of a percent). Latency of one run at batch 1 and 8, and the probabilities' agreement.
 *
 * Timings interleave: per round, runtime then PyTorch, the next round the other way round; the
 * figures are medians over rounds, with each engine's spread (min-max) and the per-round ratios.
 * Both engines wait passively (ONNX Runtime allow_spinning=0, OMP_WAIT_POLICY=PASSIVE).
 *
 * Usage: npx tsx bench/transformers/bench.ts [--rounds N] [--threads 1,2] [--only gpt2|bert] [--write-results]
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { createRandom } from '../../model-runtime/src/data/random.ts';
import { createSession } from '../../model-runtime/src/engine/session.ts';
import { CausalDecoder } from '../../model-runtime/src/models/generation-decoder.ts';
import { buildGptInferenceGraph, gptParameters, type GptConfig } from '../../model-runtime/src/models/gpt.ts';
import type { TensorValues } from '../../model-runtime/src/models/graph-trainer.ts';
import { initialValues } from '../../model-runtime/src/models/init.ts';
import type { ParameterSpec } from '../../model-runtime/src/models/network.ts';
import { argMax } from '../../model-runtime/src/models/sampling.ts';
import { buildTextClassifierInferenceGraph, textClassifierParameters, type TextClassifierConfig } from '../../model-runtime/src/models/text-classifier.ts';
import { median, TorchPeer, writeSection, writeTensors } from '../peer-process.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'bench', 'out', 'transformers');
const RESULTS_FILE = join(ROOT, 'bench', 'RESULTS.md');
const HEADING = '## Pretrained-size transformers: GPT-2 small generation, BERT-base classification (bench/transformers)';
const PEER = join(import.meta.dirname, 'torch_peer.py');
const PROMPT_TOKENS = 32;
const NEW_TOKENS = 128;
const SEQUENCE = 128;
const BATCHES = [1, 8] as const;

const GPT2_SMALL: GptConfig = { vocabSize: 50257, contextLength: 1024, nLayer: 12, nHead: 12, nEmbd: 768, bias: true, dropout: 0 };
const BERT_BASE: TextClassifierConfig = { vocabSize: 30522, contextLength: 512, nLayer: 12, nHead: 12, nEmbd: 768, bias: true, dropout: 0, classes: 2 };

const program = new Command()
  .option('--rounds <n>', 'interleaved timing rounds per case', (v) => Number(v), 3)
  .option('--threads <list>', 'thread counts, both engines', (v) => v.split(',').map(Number), [1, 2])
  .option('--only <model>', 'gpt2 or bert (default both)')
  .option('--write-results', 'write the section of bench/RESULTS.md')
  .parse();
const opts = program.opts<{ rounds: number; threads: number[]; only?: 'gpt2' | 'bert'; writeResults?: boolean }>();

const load = (): string => os.loadavg().map((l) => l.toFixed(1)).join(' ');
const fmt = (x: number, digits = 3): string => x.toPrecision(digits);
const spread = (xs: readonly number[]): string => `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;

/**
 * Random weights: GPT-2's initialisation, and biases and LayerNorm shifts drawn too (std 0.02)
 * rather than zero, so a wrong bias in either engine shows in the comparison.
 */
function randomWeights(params: readonly ParameterSpec[], seed: number): TensorValues {
  const random = createRandom(seed);
  return Object.fromEntries(params.map((p) => [p.name, { dims: p.shape, data: initialValues(p.init === 'zeros' ? { normal: 0.02 } : p.init, p.shape, random) }]));
}

/** weights.bin / weights.json for the peer. */
function writePeerWeights(dir: string, config: object, params: readonly ParameterSpec[], weights: TensorValues): void {
  mkdirSync(dir, { recursive: true });
  writeTensors(join(dir, 'weights'), params.map((p) => [p.name, [...p.shape], weights[p.name]!.data]), () => ({ config }));
}

/** Runs `a` and `b` in alternating order, `rounds` times. */
async function interleaved<A, B>(rounds: number, a: () => Promise<A>, b: () => Promise<B>): Promise<{ a: A[]; b: B[] }> {
  const as: A[] = [];
  const bs: B[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      as.push(await a());
      bs.push(await b());
    } else {
      bs.push(await b());
      as.push(await a());
    }
  }
  return { a: as, b: bs };
}

// ---------------------------------------------------------------- GPT-2 small generation

interface Generation {
  readonly tokens: number[];
  readonly prefill: number; // seconds
  readonly decode: number; // seconds for NEW_TOKENS - 1 one-token steps
}

interface GptRow {
  readonly threads: number;
  readonly runtimeMsPerToken: number[];
  readonly torchMsPerToken: number[];
  readonly runtimePrefillMs: number[];
  readonly torchPrefillMs: number[];
  readonly sameTokens: number; // positions where the two engines' greedy tokens agree, first run
  readonly firstDivergence: number | null;
}

/** Greedy generation through the serving path's decoder: the prompt in one step, then one token a step. */
async function runtimeGenerate(decoder: CausalDecoder, prompt: readonly number[]): Promise<Generation> {
  let start = performance.now();
  let step = await decoder.step(prompt, decoder.emptyCache());
  const prefill = (performance.now() - start) / 1000;
  const tokens = [argMax(step.logits)];
  start = performance.now();
  for (let i = 1; i < NEW_TOKENS; i++) {
    step = await decoder.step([tokens.at(-1)!], step.cache);
    tokens.push(argMax(step.logits));
  }
  return { tokens, prefill, decode: (performance.now() - start) / 1000 };
}

async function benchGpt2(): Promise<GptRow[]> {
  const config = GPT2_SMALL;
  const params = gptParameters(config);
  const weights = randomWeights(params, 1337);
  const dir = join(OUT, 'gpt2');
  writePeerWeights(dir, { kind: 'gpt2', vocab_size: config.vocabSize, block_size: config.contextLength, n_layer: config.nLayer, n_head: config.nHead, n_embd: config.nEmbd }, params, weights);
  const model = buildGptInferenceGraph(config, weights);
  const random = createRandom(7);
  const prompt = Array.from({ length: PROMPT_TOKENS }, () => Math.floor(random() * config.vocabSize));
  const shape = { nLayer: config.nLayer, nHead: config.nHead, headDim: config.nEmbd / config.nHead, vocabSize: config.vocabSize, contextLength: config.contextLength };
  const rows: GptRow[] = [];
  for (const threads of opts.threads) {
    const decoder = await CausalDecoder.create(model, shape, { intraOpNumThreads: threads, allowSpinning: false, log: () => {} });
    const peer = new TorchPeer(PEER, dir, threads);
    await peer.ready();
    try {
      await runtimeGenerate(decoder, prompt.slice(0, 4)); // warm-up: first-run allocations
      const { a: ours, b: theirs } = await interleaved(
        opts.rounds,
        () => runtimeGenerate(decoder, prompt),
        () => peer.request<Generation>({ cmd: 'generate', prompt, new: NEW_TOKENS }),
      );
      const mismatch = ours[0]!.tokens.findIndex((id, i) => id !== theirs[0]!.tokens[i]);
      const row: GptRow = {
        threads,
        runtimeMsPerToken: ours.map((g) => (g.decode * 1000) / (NEW_TOKENS - 1)),
        torchMsPerToken: theirs.map((g) => (g.decode * 1000) / (NEW_TOKENS - 1)),
        runtimePrefillMs: ours.map((g) => g.prefill * 1000),
        torchPrefillMs: theirs.map((g) => g.prefill * 1000),
        sameTokens: ours[0]!.tokens.filter((id, i) => id === theirs[0]!.tokens[i]).length,
        firstDivergence: mismatch < 0 ? null : mismatch,
      };
      rows.push(row);
      console.log(`gpt2, ${threads} thread(s): runtime ${fmt(median(row.runtimeMsPerToken))} ms/token (${spread(row.runtimeMsPerToken)}), PyTorch ${fmt(median(row.torchMsPerToken))} (${spread(row.torchMsPerToken)}); same tokens at ${row.sameTokens}/${NEW_TOKENS}; load ${load()}`);
    } finally {
      peer.close();
      await decoder.release();
    }
  }
  return rows;
}

// ---------------------------------------------------------------- BERT-base classification

interface BertRow {
  readonly threads: number;
  readonly batch: number;
  readonly runtimeMs: number[];
  readonly torchMs: number[];
  readonly maxProbabilityDiff: number;
}

async function benchBert(): Promise<BertRow[]> {
  const config = BERT_BASE;
  const params = textClassifierParameters(config);
  const weights = randomWeights(params, 4242);
  const dir = join(OUT, 'bert');
  writePeerWeights(dir, { kind: 'encoder', vocab_size: config.vocabSize, block_size: config.contextLength, n_layer: config.nLayer, n_head: config.nHead, n_embd: config.nEmbd, classes: config.classes }, params, weights);
  const model = buildTextClassifierInferenceGraph(config, weights);
  const random = createRandom(11);
  const rows: BertRow[] = [];
  for (const threads of opts.threads) {
    const session = await createSession(model, { intraOpNumThreads: threads, allowSpinning: false, log: () => {} });
    const peer = new TorchPeer(PEER, dir, threads);
    await peer.ready();
    try {
      for (const batch of BATCHES) {
        const ids = Array.from({ length: batch }, () => Array.from({ length: SEQUENCE }, () => Math.floor(random() * config.vocabSize)));
        const feeds = {
          input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.flat(), BigInt), [batch, SEQUENCE]),
          attention_mask: new ort.Tensor('int64', new BigInt64Array(batch * SEQUENCE).fill(1n), [batch, SEQUENCE]),
        };
        const ours = async (): Promise<{ ms: number; probabilities: Float32Array }> => {
          const start = performance.now();
          const out = await session.run(feeds);
          return { ms: performance.now() - start, probabilities: out.probabilities!.data as Float32Array };
        };
        await ours(); // warm-up
        const { a, b } = await interleaved(
          opts.rounds,
          ours,
          () => peer.request<{ probabilities: number[]; times: number[] }>({ cmd: 'classify', ids, repeats: 1 }),
        );
        const reference = b[0]!.probabilities;
        const row: BertRow = {
          threads, batch,
          runtimeMs: a.map((r) => r.ms),
          torchMs: b.map((r) => r.times[0]! * 1000),
          maxProbabilityDiff: Math.max(...Array.from(a[0]!.probabilities, (p, i) => Math.abs(p - reference[i]!))),
        };
        rows.push(row);
        console.log(`bert, ${threads} thread(s), batch ${batch}: runtime ${fmt(median(row.runtimeMs))} ms (${spread(row.runtimeMs)}), PyTorch ${fmt(median(row.torchMs))} (${spread(row.torchMs)}); probabilities within ${row.maxProbabilityDiff.toExponential(1)}; load ${load()}`);
      }
    } finally {
      peer.close();
      await session.release();
    }
  }
  return rows;
}

// ---------------------------------------------------------------- main

const loadBefore = load();
const started = performance.now();
const gpt = opts.only === 'bert' ? [] : await benchGpt2();
const bert = opts.only === 'gpt2' ? [] : await benchBert();
const minutes = (performance.now() - started) / 60000;

const roundRatios = (ours: readonly number[], theirs: readonly number[]): string => ours.map((x, i) => (x / theirs[i]!).toFixed(2)).join(', ');
const lines: string[] = [HEADING, ''];
lines.push(`${new Date().toISOString().slice(0, 10)}. This runtime's inference graphs against the same architectures in PyTorch ${'1.13'} on the CPU`);
lines.push('(bench/transformers/torch_peer.py, nanoGPT style), at equal threads, both waiting passively, with the same random weights');
lines.push(`(GPT-2's initialisation, biases drawn too). Medians over ${opts.rounds} interleaved rounds; spread is min-max over rounds;`);
lines.push('ratios per round in the order run.', '');
if (gpt.length > 0) {
  lines.push('GPT-2 small shape (12 layers, 12 heads, 768 wide, vocabulary 50,257, 1024 positions, tied head): models/gpt.ts\'s');
  lines.push('inference graph (Hugging Face\'s text-generation-with-past layout) through the serving path\'s CausalDecoder, against');
  lines.push(`a nanoGPT-style GPT-2 with its own KV cache. Batch 1, greedy, ${PROMPT_TOKENS} prompt tokens then ${NEW_TOKENS} new ones; ms/token over the`);
  lines.push(`${NEW_TOKENS - 1} one-token steps (the prompt's pass reported apart). Goal: runtime tokens/s >= 1.5x PyTorch's.`, '');
  lines.push('| threads | runtime ms/token (spread) | PyTorch ms/token (spread) | runtime tokens/s | PyTorch tokens/s | speed-up (tokens/s ratio) | per-round speed-ups | prefill ms, runtime / PyTorch | same greedy tokens |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const r of gpt) {
    const ours = median(r.runtimeMsPerToken);
    const theirs = median(r.torchMsPerToken);
    lines.push(`| ${r.threads} | ${fmt(ours)} (${spread(r.runtimeMsPerToken)}) | ${fmt(theirs)} (${spread(r.torchMsPerToken)}) | ${fmt(1000 / ours)} | ${fmt(1000 / theirs)} | ${(theirs / ours).toFixed(2)}x | ${roundRatios(r.torchMsPerToken, r.runtimeMsPerToken)} | ${fmt(median(r.runtimePrefillMs))} / ${fmt(median(r.torchPrefillMs))} | ${r.sameTokens}/${NEW_TOKENS}${r.firstDivergence === null ? '' : ` (first differs at ${r.firstDivergence})`} |`);
  }
  lines.push('');
}
if (bert.length > 0) {
  lines.push('BERT-base shape (12 layers, 12 heads, 768 wide, FFN 3072, vocabulary 30,522, sequence 128, 2 classes):');
  lines.push('models/text-classifier.ts\'s inference graph (this runtime\'s encoder: pre-norm blocks, mean pooling, softmax head;');
  lines.push('BERT\'s post-norm and tanh pooler differ by a fraction of a percent of the FLOPs) against the same model in PyTorch.');
  lines.push('Latency of one run. Goal: runtime latency <= 0.9x PyTorch\'s.', '');
  lines.push('| threads | batch | runtime ms (spread) | PyTorch ms (spread) | latency ratio (runtime / PyTorch) | per-round ratios | max probability difference |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const r of bert) {
    lines.push(`| ${r.threads} | ${r.batch} | ${fmt(median(r.runtimeMs))} (${spread(r.runtimeMs)}) | ${fmt(median(r.torchMs))} (${spread(r.torchMs)}) | ${(median(r.runtimeMs) / median(r.torchMs)).toFixed(2)} | ${roundRatios(r.runtimeMs, r.torchMs)} | ${r.maxProbabilityDiff.toExponential(1)} |`);
  }
  lines.push('');
}
lines.push(`Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), shared with other agents; load average ${loadBefore} before, ${load()} after; ${minutes.toFixed(1)} minutes.`);
lines.push('', `Command: \`npm run bench:transformers -- --rounds ${opts.rounds} --threads ${opts.threads.join(',')}${opts.only === undefined ? '' : ` --only ${opts.only}`}\` (writes this section; needs /usr/bin/python3 with python3-torch).`, '');
const section = lines.join('\n');
console.log(`\n${section}`);
if (opts.writeResults === true) writeSection(RESULTS_FILE, HEADING, section);
