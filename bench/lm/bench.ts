/**
 * Language-model benchmark: this runtime's GPT (one ONNX Runtime run per training step) against
 * nanoGPT's model in PyTorch 1.13 on the CPU (torch_peer.py), at equal threads, from the same
 * initial weights (written here) on the same batches, learning rates and evaluation windows.
 *
 * The text is made here (a seeded play-like text of about a million characters over a character
 * vocabulary of about 60); nothing is downloaded. Two configurations:
 *   small  nanoGPT's shakespeare_char CPU settings: n_layer 4, n_head 4, n_embd 128, context 64, batch 12
 *   large  n_layer 6, n_head 6, n_embd 384, context 256 (batch --large-batch, default 4)
 * Both without biases (nanoGPT's default) and dropout 0; AdamW (lr 1e-3, betas 0.9/0.99, weight
 * decay 0.1 on every parameter), warm-up 100 steps then cosine, gradients clipped to norm 1.
 *
 * 1. Losses over 20 steps from the same weights: max relative difference.
 * 2. Time per training step, in interleaved rounds (runtime, PyTorch, PyTorch, runtime, ...).
 * 3. small: validation loss after --val-steps steps of the same schedule, on the same windows.
 * 4. large: greedy generation, batch 1, with each engine's own KV cache: tokens per second.
 *
 * Usage: npm run bench:lm -- [--rounds N] [--val-steps N] [--threads N] [--large-batch N]
 *        (npm run bench:lm writes the section of bench/RESULTS.md; npx tsx bench/lm/bench.ts only prints it)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { createRandom } from '../../model-runtime/src/data/random.ts';
import { CausalDecoder } from '../../model-runtime/src/models/generation-decoder.ts';
import { generateTokens } from '../../model-runtime/src/models/generation.ts';
import { buildGptEvaluationGraph, buildGptInferenceGraph, buildGptTrainingGraph, gptParameters, type GptConfig } from '../../model-runtime/src/models/gpt.ts';
import { GraphTrainer } from '../../model-runtime/src/models/graph-trainer.ts';
import type { TrainingState } from '../../model-runtime/src/models/trainable-model.ts';
import type { OptimizerConfig } from '../../model-runtime/src/optim/optimizer-config.ts';
import { learningRateAt } from '../../model-runtime/src/optim/schedule.ts';
import { learnTokenizer } from '../../model-runtime/src/text/learn-tokenizer.ts';
import type { Tokenizer } from '../../model-runtime/src/text/tokenizer.ts';
import { evaluationBatches, evaluationWindowStarts, splitByPosition, tokenStream, trainingBatch, trainingWindowStarts } from '../../model-runtime/src/train/language-model-data.ts';
import { peerEnvironment } from '../peer-env.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'bench', 'out', 'lm');
const RESULTS_FILE = join(ROOT, 'bench', 'RESULTS.md');
const SEED = 1337;
const LOSS_STEPS = 20;
const EVAL_BATCHES = 20; // nanoGPT's eval_iters for the CPU run
const GENERATED_TOKENS = 200;

interface Setting {
  readonly name: string;
  readonly config: GptConfig;
  readonly batch: number;
  readonly stepsPerRound: number;
}

const program = new Command()
  .option('--rounds <n>', 'timing rounds per configuration', (v) => Number(v), 5)
  .option('--val-steps <n>', 'training steps before the validation-loss comparison (small configuration)', (v) => Number(v), 500)
  .option('--threads <n>', 'threads for both engines', (v) => Number(v), 1)
  .option('--large-batch <n>', 'batch size of the large configuration', (v) => Number(v), 4)
  .option('--write-results', 'write the section of bench/RESULTS.md')
  .parse();
const opts = program.opts<{ rounds: number; valSteps: number; threads: number; largeBatch: number; writeResults?: boolean }>();

// ---------------------------------------------------------------- the text

/** A seeded play: speakers' names, then lines of words from a fixed lexicon with Zipf-like use. */
function playText(characters: number, seed: number): string {
  const random = createRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const consonants = 'bcdfghjklmnprstvwy'.split('');
  const vowels = 'aeiou'.split('');
  const syllable = (): string => pick(consonants) + pick(vowels) + (random() < 0.3 ? pick(consonants) : '');
  const lexicon = Array.from({ length: 600 }, () => Array.from({ length: 1 + Math.floor(random() * 3) }, syllable).join(''));
  const zipf = (): string => lexicon[Math.min(lexicon.length - 1, Math.floor(lexicon.length * random() ** 3))]!;
  const names = Array.from({ length: 14 }, () => (syllable() + syllable()).toUpperCase());
  const parts: string[] = [];
  let length = 0;
  let previous = zipf();
  while (length < characters) {
    const speech: string[] = [`${pick(names)}:`];
    for (let line = 0, lines = 1 + Math.floor(random() * 4); line < lines; line++) {
      const words: string[] = [];
      for (let w = 0, n = 4 + Math.floor(random() * 8); w < n; w++) {
        // Half the time the next word follows from the previous one: structure a model can learn.
        previous = random() < 0.5 ? lexicon[(lexicon.indexOf(previous) * 7 + 3) % lexicon.length]! : zipf();
        words.push(random() < 0.05 ? `${previous}'s` : previous);
        if (random() < 0.08) words[words.length - 1] += pick([',', ';', ' -']);
      }
      const text = words.join(' ');
      speech.push(text[0]!.toUpperCase() + text.slice(1) + pick(['.', '.', '.', '!', '?', ',', ':']));
    }
    const block = `${speech.join('\n')}\n\n`;
    parts.push(block);
    length += block.length;
  }
  return parts.join('');
}

// ---------------------------------------------------------------- the peer

class Peer {
  private readonly lines: AsyncIterator<string>;
  private readonly child;
  constructor(dataDir: string) {
    this.child = spawn('/usr/bin/python3', [join(import.meta.dirname, 'torch_peer.py'), dataDir], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: peerEnvironment({ OMP_WAIT_POLICY: 'PASSIVE' }),
    });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }
  async next<T>(): Promise<T> {
    const line = await this.lines.next();
    if (line.done === true) throw new Error('the PyTorch peer exited');
    const value = JSON.parse(line.value) as T & { error?: string };
    if (value.error !== undefined) throw new Error(value.error);
    return value;
  }
  async send<T>(cmd: Record<string, unknown>): Promise<T> {
    this.child.stdin.write(`${JSON.stringify({ threads: opts.threads, ...cmd })}\n`);
    return this.next<T>();
  }
  close(): void {
    this.child.stdin.end();
  }
}

// ---------------------------------------------------------------- helpers

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number, digits = 3): string => x.toPrecision(digits);

function optimizerFor(totalSteps: number): OptimizerConfig {
  return {
    name: 'adamw', learningRate: 1e-3, momentum: 0, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1, gradClip: 1,
    schedule: { kind: 'cosine', warmupSteps: 100, totalSteps },
  };
}

/** init.bin + plan.json for the peer. */
function writePeerData(dir: string, setting: Setting, optimizer: OptimizerConfig, initial: TrainingState, train: Int32Array, validation: Int32Array, steps: number): void {
  mkdirSync(dir, { recursive: true });
  const params = gptParameters(setting.config);
  const tensors: Record<string, { dims: readonly number[]; offset: number; linear: boolean }> = {};
  let offset = 0;
  for (const p of params) {
    tensors[p.name] = { dims: p.shape, offset, linear: /(c_attn|c_proj|c_fc)\.weight$/.test(p.name) };
    offset += initial.tensors[p.name]!.data.length;
  }
  const all = new Float32Array(offset);
  for (const p of params) all.set(initial.tensors[p.name]!.data, tensors[p.name]!.offset);
  writeFileSync(join(dir, 'init.bin'), new Uint8Array(all.buffer));
  writeFileSync(join(dir, 'train.bin'), new Uint8Array(train.slice().buffer));
  writeFileSync(join(dir, 'val.bin'), new Uint8Array(validation.slice().buffer));
  const c = setting.config;
  const T = c.contextLength;
  writeFileSync(join(dir, 'plan.json'), JSON.stringify({
    config: { vocab_size: c.vocabSize, block_size: T, n_layer: c.nLayer, n_head: c.nHead, n_embd: c.nEmbd, bias: c.bias },
    tensors,
    optimizer: { lr: optimizer.learningRate, beta1: optimizer.beta1, beta2: optimizer.beta2, eps: optimizer.epsilon, weight_decay: optimizer.weightDecay, grad_clip: optimizer.gradClip },
    lrs: Array.from({ length: steps }, (_, s) => learningRateAt(optimizer, s)),
    batches: Array.from({ length: steps }, (_, s) => trainingWindowStarts(train.length, SEED, s, setting.batch, T)),
    eval_batches: evaluationWindowStarts(validation.length, EVAL_BATCHES, setting.batch, T),
  }));
}

interface SettingResult {
  readonly setting: Setting;
  readonly lossDiff: number;
  readonly firstLast: { runtime: [number, number]; torch: [number, number] };
  readonly runtimeMs: number;
  readonly torchMs: number;
  readonly roundRatios: number[];
  readonly validation?: { runtime: number; torch: number; steps: number };
  readonly generation?: { runtimeTokensPerSecond: number; torchTokensPerSecond: number; agreement: number; tokens: number };
}

async function benchSetting(setting: Setting, tokenizer: Tokenizer, train: Int32Array, validation: Int32Array, withValidation: boolean, withGeneration: boolean): Promise<SettingResult> {
  const c = setting.config;
  const T = c.contextLength;
  const totalSteps = Math.max(withValidation ? opts.valSteps : 0, LOSS_STEPS + opts.rounds * setting.stepsPerRound);
  const optimizer = optimizerFor(totalSteps);
  const engine = { intraOpNumThreads: opts.threads, allowSpinning: false, log: () => {} };
  const trainer = await GraphTrainer.create({
    parameters: gptParameters(c), optimizer, seed: SEED, engine,
    trainingGraph: buildGptTrainingGraph(c, optimizer), evaluationGraph: buildGptEvaluationGraph(c),
  });
  const initial = trainer.getState();
  const dir = join(OUT, setting.name);
  writePeerData(dir, setting, optimizer, initial, train, validation, totalSteps);
  const peer = new Peer(dir);
  await peer.next();
  try {
    const ours = async (from: number, steps: number): Promise<{ losses: number[]; times: number[] }> => {
      const losses: number[] = [];
      const times: number[] = [];
      for (let s = from; s < from + steps; s++) {
        const batch = trainingBatch(train, SEED, s, setting.batch, T);
        const start = performance.now();
        losses.push(await trainer.trainStep(batch.feeds));
        times.push((performance.now() - start) / 1000);
      }
      return { losses, times };
    };

    // 1. Losses from the same weights.
    const runtimeLosses = (await ours(0, LOSS_STEPS)).losses;
    const torchLosses = (await peer.send<{ losses: number[] }>({ cmd: 'train', from: 0, steps: LOSS_STEPS })).losses;
    const lossDiff = Math.max(...runtimeLosses.map((l, i) => Math.abs(l - torchLosses[i]!) / Math.abs(torchLosses[i]!)));
    console.log(`${setting.name}: losses over ${LOSS_STEPS} steps agree to ${lossDiff.toExponential(2)} (step 1 ${fmt(runtimeLosses[0]!, 6)} vs ${fmt(torchLosses[0]!, 6)})`);

    // 2. Step time, interleaved.
    const runtimeTimes: number[] = [];
    const torchTimes: number[] = [];
    const roundRatios: number[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      const from = LOSS_STEPS + r * setting.stepsPerRound;
      const runRuntime = async () => (await ours(from, setting.stepsPerRound)).times;
      const runTorch = async () => (await peer.send<{ times: number[] }>({ cmd: 'train', from, steps: setting.stepsPerRound })).times;
      let a: number[];
      let b: number[];
      if (r % 2 === 0) {
        a = await runRuntime();
        b = await runTorch();
      } else {
        b = await runTorch();
        a = await runRuntime();
      }
      runtimeTimes.push(...a);
      torchTimes.push(...b);
      roundRatios.push(median(a) / median(b));
      console.log(`${setting.name}: round ${r + 1}: runtime ${fmt(median(a) * 1000)} ms, PyTorch ${fmt(median(b) * 1000)} ms`);
    }

    let validationResult: SettingResult['validation'];
    if (withValidation) {
      trainer.setState(initial);
      await peer.send({ cmd: 'reset' });
      await ours(0, opts.valSteps);
      let sum = 0;
      let tokens = 0;
      for (const batch of evaluationBatches(validation, EVAL_BATCHES, setting.batch, T)) {
        sum += ((await trainer.evaluate(batch.feeds)).loss!.data as Float32Array)[0]! * batch.tokens;
        tokens += batch.tokens;
      }
      await peer.send({ cmd: 'train', from: 0, steps: opts.valSteps });
      const torchLoss = (await peer.send<{ loss: number }>({ cmd: 'evaluate' })).loss;
      validationResult = { runtime: sum / tokens, torch: torchLoss, steps: opts.valSteps };
      console.log(`${setting.name}: validation loss after ${opts.valSteps} steps: runtime ${fmt(sum / tokens, 5)}, PyTorch ${fmt(torchLoss, 5)}`);
    }

    let generation: SettingResult['generation'];
    if (withGeneration) {
      const weights = Object.fromEntries(gptParameters(c).map((p) => [p.name, { dims: p.shape, data: initial.tensors[p.name]!.data }]));
      const decoder = await CausalDecoder.create(buildGptInferenceGraph(c, weights), { nLayer: c.nLayer, nHead: c.nHead, headDim: c.nEmbd / c.nHead, vocabSize: c.vocabSize, contextLength: T }, engine);
      await peer.send({ cmd: 'reset' });
      const prompt = Array.from(validation.subarray(0, 16));
      const settings = { maxNewTokens: GENERATED_TOKENS, doSample: false, temperature: 1, topK: 0, topP: 1, seed: 0, stop: [], eosTokenIds: [] };
      const runtimeIds: number[] = [];
      let firstAt = 0;
      for await (const token of generateTokens(decoder, tokenizer, prompt, settings)) {
        if (runtimeIds.length === 0) firstAt = performance.now();
        runtimeIds.push(token.id);
      }
      const runtimeDecode = (performance.now() - firstAt) / 1000;
      await decoder.release();
      const torchGen = await peer.send<{ tokens: number[]; decode: number }>({ cmd: 'generate', prompt, new: GENERATED_TOKENS });
      const agreement = runtimeIds.filter((id, i) => id === torchGen.tokens[i]).length / GENERATED_TOKENS;
      generation = { runtimeTokensPerSecond: (GENERATED_TOKENS - 1) / runtimeDecode, torchTokensPerSecond: (GENERATED_TOKENS - 1) / torchGen.decode, agreement, tokens: GENERATED_TOKENS };
      console.log(`${setting.name}: generation ${fmt(generation.runtimeTokensPerSecond)} vs ${fmt(generation.torchTokensPerSecond)} tokens/s; same greedy tokens at ${fmt(agreement * 100)}% of positions`);
    }

    return {
      setting, lossDiff,
      firstLast: { runtime: [runtimeLosses[0]!, runtimeLosses.at(-1)!], torch: [torchLosses[0]!, torchLosses.at(-1)!] },
      runtimeMs: median(runtimeTimes) * 1000, torchMs: median(torchTimes) * 1000, roundRatios,
      validation: validationResult, generation,
    };
  } finally {
    peer.close();
    await trainer.release();
  }
}

// ---------------------------------------------------------------- main

const text = playText(1_000_000, 7);
const tokenizer = learnTokenizer([text], { kind: 'char' });
const { train, validation } = splitByPosition(tokenStream(tokenizer, [text], null), 0.1);
console.log(`text: ${text.length} characters, vocabulary ${tokenizer.vocabSize}; ${train.length} training and ${validation.length} validation tokens; ${opts.threads} thread(s)`);
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
const loadBefore = load();
const small: Setting = { name: 'small', config: { vocabSize: tokenizer.vocabSize, contextLength: 64, nLayer: 4, nHead: 4, nEmbd: 128, bias: false, dropout: 0 }, batch: 12, stepsPerRound: 4 };
const large: Setting = { name: 'large', config: { vocabSize: tokenizer.vocabSize, contextLength: 256, nLayer: 6, nHead: 6, nEmbd: 384, bias: false, dropout: 0 }, batch: opts.largeBatch, stepsPerRound: 1 };
const results = [await benchSetting(small, tokenizer, train, validation, true, false), await benchSetting(large, tokenizer, train, validation, false, true)];
const loadAfter = load();

const lines: string[] = [];
lines.push('## Language model (bench/lm)', '');
lines.push(`${new Date().toISOString().slice(0, 10)}. This runtime's GPT (models/gpt.ts; each training step one ONNX Runtime run) against nanoGPT's`);
lines.push("model.py architecture in PyTorch 1.13 (bench/lm/torch_peer.py: manual attention, GELU tanh, tied head), at");
lines.push(`${opts.threads} thread(s) each, both waiting passively (ONNX Runtime allow_spinning=0, OMP_WAIT_POLICY=PASSIVE), from the same`);
lines.push('initial weights on the same batches and learning rates. Text: a seeded play-like text the bench makes');
lines.push(`(${text.length} characters, character vocabulary ${tokenizer.vocabSize}), 90/10 split by position. No biases, dropout 0, AdamW lr 1e-3`);
lines.push('(betas 0.9/0.99, weight decay 0.1 on every parameter), warm-up 100 then cosine, grad clip 1.', '');
lines.push('| configuration | batch x context | losses: max rel. diff over 20 steps | runtime ms/step | PyTorch ms/step | ratio | per-round ratios |');
lines.push('|---|---|---|---|---|---|---|');
for (const r of results) {
  const c = r.setting.config;
  lines.push(`| ${c.nLayer} layers, ${c.nHead} heads, n_embd ${c.nEmbd} | ${r.setting.batch} x ${c.contextLength} | ${r.lossDiff.toExponential(1)} | ${fmt(r.runtimeMs)} | ${fmt(r.torchMs)} | ${(r.runtimeMs / r.torchMs).toFixed(2)} | ${r.roundRatios.map((x) => x.toFixed(2)).join(', ')} |`);
}
lines.push('');
for (const r of results) {
  lines.push(`${r.setting.name}: loss at step 1 / 20: ${fmt(r.firstLast.runtime[0], 6)} / ${fmt(r.firstLast.runtime[1], 6)} (runtime), ${fmt(r.firstLast.torch[0], 6)} / ${fmt(r.firstLast.torch[1], 6)} (PyTorch).`);
}
const v = results[0]!.validation!;
lines.push('', `Validation loss after ${v.steps} steps of the small configuration (${EVAL_BATCHES} batches of evaluation windows): runtime ${fmt(v.runtime, 5)}, PyTorch ${fmt(v.torch, 5)}: ${(((v.runtime - v.torch) / v.torch) * 100).toFixed(2)}% apart.`);
const g = results[1]!.generation!;
lines.push('', `Generation, large configuration, batch 1, greedy, ${g.tokens} new tokens after a 16-token prompt, each engine with its own KV cache: runtime ${fmt(g.runtimeTokensPerSecond)} tokens/s, PyTorch ${fmt(g.torchTokensPerSecond)} tokens/s: ratio (runtime / PyTorch) ${(g.runtimeTokensPerSecond / g.torchTokensPerSecond).toFixed(2)} (higher is better for the runtime). The same greedy token at ${(g.agreement * 100).toFixed(0)}% of positions (untrained weights: near-uniform logits, so float rounding breaks ties differently).`);
lines.push('', `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), shared with other agents; load average ${loadBefore} before, ${loadAfter} after. Ratios above 1 mean the runtime is slower.`);
lines.push('', `Command: \`npm run bench:lm -- --rounds ${opts.rounds} --val-steps ${opts.valSteps} --threads ${opts.threads} --large-batch ${opts.largeBatch}\` (writes this section; needs /usr/bin/python3 with python3-torch).`, '');
const section = lines.join('\n');
console.log(`\n${section}`);
if (opts.writeResults === true) {
  const current = readFileSync(RESULTS_FILE, 'utf8');
  const start = current.indexOf('## Language model (bench/lm)');
  let next: string;
  if (start < 0) next = `${current.trimEnd()}\n\n${section}`;
  else {
    const end = current.indexOf('\n## ', start + 1);
    next = current.slice(0, start) + section + (end < 0 ? '' : current.slice(end + 1));
  }
  writeFileSync(RESULTS_FILE, next.endsWith('\n') ? next : `${next}\n`);
}
