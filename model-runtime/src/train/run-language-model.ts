/**
 * Training algorithm=language-model, reporting through the job's events:
 *
 *   1. read the train channel's text (.txt files, JSON Lines {"text"}, CSV), and the validation
 *      channel's when there is one
 *   2. learn the tokenizer from the training text (byte-level BPE to vocab_size, or char)
 *   3. one token stream; validation is the validation channel's, else the last
 *      validation_fraction of the stream
 *   4. max_steps optimizer steps (or epochs over the stream's tokens when max_steps is 0) on
 *      batches of random context windows; every eval_interval steps a metric line with
 *      train_loss, validation_loss, validation_perplexity and tokens_per_second
 *   5. write model.onnx (the decoder in Hugging Face's layout), config.json,
 *      generation_config.json, tokenizer.json, model.json and MANIFEST.json to model/
 *
 * Checkpoints every checkpoint_every_steps steps, at each evaluation and on SIGTERM; a resumed
 * run continues with the batches, dropout masks and losses the uninterrupted one would have had.
 */
import { MODEL_ONNX_FILE } from '../artifact/files.ts';
import { sha256Hex } from '../artifact/digest.ts';
import { MODEL_FORMAT, TOKENIZER_FILE, type LanguageModelDescription } from '../artifact/model-description.ts';
import { saveArtifact } from '../artifact/save.ts';
import { formatHyperparameters, type Hyperparameters } from '../contract/hyperparameters.ts';
import type { MetricName } from '../contract/metrics.ts';
import { readTextCorpus, type TextDocument } from '../data/text-corpus.ts';
import { DataError } from '../data/data-error.ts';
import { buildGptEvaluationGraph, buildGptInferenceGraph, buildGptTrainingGraph, gptParameters, LOSS, type GptConfig } from '../models/gpt.ts';
import { CONFIG_FILE, GENERATION_CONFIG_FILE, generationConfigJson, gpt2ConfigJson } from '../models/gpt-config.ts';
import { GraphTrainer } from '../models/graph-trainer.ts';
import { learnTokenizer } from '../text/learn-tokenizer.ts';
import { END_OF_TEXT } from '../text/special-tokens.ts';
import { serializeTokenizer } from '../text/tokenizer-json.ts';
import { clearCheckpoint, type EpochMetrics } from './checkpoint.ts';
import { optimizerConfig } from './configs.ts';
import { TrainingStopped } from './fit.ts';
import { checkStreamLength, evaluationBatches, splitByPosition, tokenStream, trainingBatch, type WindowBatch } from './language-model-data.ts';
import { readLanguageModelCheckpoint, writeLanguageModelCheckpoint, type LanguageModelPosition } from './language-model-checkpoint.ts';
import type { TrainingResult } from './training-events.ts';
import { runtimeVersions, type TrainingJob } from './training-job.ts';

/** validation_fraction when neither it nor a validation channel is given. */
const DEFAULT_VALIDATION_FRACTION = 0.1;

export async function runLanguageModelTraining(job: TrainingJob): Promise<TrainingResult> {
  const { paths, hp, emit } = job;
  const note = (text: string): void => emit({ kind: 'note', text });
  const corpusOptions = (channel: string) => ({
    textColumn: hp.textColumn,
    labelColumn: null,
    contentType: hp.contentType ?? job.inputConfig.get(channel)?.contentType ?? null,
  });
  const trainDocuments = await readTextCorpus(paths.channel('train'), 'train', corpusOptions('train'));
  if (trainDocuments === null) throw new DataError(`no train channel: put .txt or .jsonl text in ${paths.channel('train')}`);
  const validationDocuments = await readTextCorpus(paths.channel('validation'), 'validation', corpusOptions('validation'));

  const tokenizer = learnTokenizer(texts(trainDocuments), hp.tokenizer === 'char' ? { kind: 'char' } : { kind: 'bpe', vocabSize: hp.vocabSize });
  const eos = tokenizer.specialTokens.withContent(END_OF_TEXT)?.id ?? null;
  const stream = tokenStream(tokenizer, texts(trainDocuments), eos);
  const { train, validation } = validationDocuments !== null
    ? { train: stream, validation: tokenStream(tokenizer, texts(validationDocuments), eos) }
    : splitByPosition(stream, hp.validationFraction ?? DEFAULT_VALIDATION_FRACTION);
  const T = hp.contextLength;
  checkStreamLength(train, T, 'the training text');
  const validated = validation.length > 0;
  if (validated) checkStreamLength(validation, T, validationDocuments !== null ? 'the validation channel' : `the held-out validation part (the last ${hp.validationFraction ?? DEFAULT_VALIDATION_FRACTION} of the text)`);

  const steps = hp.maxSteps > 0 ? hp.maxSteps : Math.max(1, Math.ceil((hp.epochs * (train.length - 1)) / (hp.batchSize * T)));
  const config: GptConfig = { vocabSize: tokenizer.vocabSize, contextLength: T, nLayer: hp.nLayer, nHead: hp.nHead, nEmbd: hp.nEmbd, bias: hp.bias, dropout: hp.dropout };
  const optimizer = optimizerConfig(hp, steps);
  const resolved = formatHyperparameters(hp);
  const tokenizerJson = serializeTokenizer(tokenizer);
  const fingerprint = sha256Hex(new TextEncoder().encode(JSON.stringify({ resolved, tokenizer: sha256Hex(new TextEncoder().encode(tokenizerJson)), train: train.length, validation: validation.length })));
  note(
    `data: ${trainDocuments.length} training documents, ${train.length} training tokens, ${validation.length} validation tokens` +
      `${validationDocuments !== null ? ' (validation channel)' : ''}; ${tokenizer.kind} tokenizer of ${tokenizer.vocabSize} tokens; ` +
      `${steps} steps of ${hp.batchSize} x ${T} tokens`,
  );

  const parameters = gptParameters(config);
  const trainer = await GraphTrainer.create({
    parameters,
    optimizer,
    trainingGraph: buildGptTrainingGraph(config, optimizer),
    evaluationGraph: buildGptEvaluationGraph(config),
    seed: hp.seed,
  });
  try {
    const resume = await readLanguageModelCheckpoint(paths.checkpoints, fingerprint);
    if (resume !== null) {
      trainer.setState(resume.state);
      note(`checkpoint: resuming at step ${resume.position.step + 1} of ${steps}`);
    }
    const evalBatches = validated ? evaluationBatches(validation, hp.evalSteps, hp.batchSize, T) : [];
    const history = await trainSteps(job, hp, trainer, train, evalBatches, steps, fingerprint, resume?.position ?? null);
    // Throughput depends on the machine: kept out of model.json, so identical runs seal identical digests.
    const { tokens_per_second: _throughput, ...metrics } = history.at(-1) ?? {};

    const description: LanguageModelDescription = {
      format: MODEL_FORMAT,
      algorithm: 'language-model',
      hyperparameters: resolved,
      contextLength: T,
      tokenizer: { file: TOKENIZER_FILE, kind: tokenizer.kind, vocabSize: tokenizer.vocabSize },
      metrics: metrics as Record<string, number>,
      versions: await runtimeVersions(),
    };
    const json = (value: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
    const manifest = await saveArtifact(
      paths.model,
      {
        [MODEL_ONNX_FILE]: buildGptInferenceGraph(config, trainer.parameterValues()),
        [CONFIG_FILE]: json(gpt2ConfigJson(config, eos)),
        [GENERATION_CONFIG_FILE]: json(generationConfigJson(config, eos)),
        [TOKENIZER_FILE]: new TextEncoder().encode(tokenizerJson),
      },
      description,
    );
    await clearCheckpoint(paths.checkpoints);
    const result: TrainingResult = { modelDir: paths.model, description, manifest, history };
    emit({ kind: 'done', result });
    return result;
  } finally {
    await trainer.release();
  }
}

/** The optimizer steps from the checkpoint's (or 0) to `steps`; returns the metric lines. */
async function trainSteps(
  job: TrainingJob,
  hp: Hyperparameters,
  trainer: GraphTrainer,
  train: Int32Array,
  evalBatches: readonly WindowBatch[],
  steps: number,
  fingerprint: string,
  resume: LanguageModelPosition | null,
): Promise<EpochMetrics[]> {
  const history = [...(resume?.history ?? [])];
  let lossSum = resume?.intervalLossSum ?? 0;
  let lossSteps = resume?.intervalSteps ?? 0;
  let intervalStart = performance.now();
  let intervalTokens = 0;
  const checkpoint = async (): Promise<void> =>
    writeLanguageModelCheckpoint(job.paths.checkpoints, fingerprint, { step: trainer.step, intervalLossSum: lossSum, intervalSteps: lossSteps, history }, trainer.getState());

  while (trainer.step < steps) {
    const batch = trainingBatch(train, hp.seed, trainer.step, hp.batchSize, hp.contextLength);
    const loss = await trainer.trainStep(batch.feeds);
    if (!Number.isFinite(loss)) {
      throw new Error(`the training loss became ${loss} at step ${trainer.step}: the optimisation diverged; lower learning_rate or set grad_clip (e.g. 1)`);
    }
    lossSum += loss;
    lossSteps += 1;
    intervalTokens += batch.tokens;
    const step = trainer.step;
    const seconds = (performance.now() - intervalStart) / 1000;
    const tokensPerSecond = seconds > 0 ? intervalTokens / seconds : 0;
    const last = step === steps;
    const evaluating = last || step % hp.evalInterval === 0;
    let metrics: EpochMetrics | null = null;
    if (evaluating) {
      metrics = { train_loss: lossSum / lossSteps, ...(await validationMetrics(trainer, evalBatches)), tokens_per_second: tokensPerSecond };
      history.push(metrics);
      lossSum = 0;
      lossSteps = 0;
    }
    job.emit({ kind: 'step', step, steps, trainLoss: metrics?.train_loss ?? lossSum / lossSteps, tokensPerSecond, metrics: last ? null : metrics });
    if (last) job.emit({ kind: 'evaluation', of: 'final', metrics: metrics! });
    if (evaluating) {
      intervalStart = performance.now();
      intervalTokens = 0;
    }
    const stopping = job.signal?.aborted === true;
    if (!last && (stopping || evaluating || (hp.checkpointEverySteps > 0 && step % hp.checkpointEverySteps === 0))) await checkpoint();
    if (stopping && !last) throw new TrainingStopped();
  }
  return history;
}

async function validationMetrics(trainer: GraphTrainer, batches: readonly WindowBatch[]): Promise<Partial<Record<MetricName, number>>> {
  if (batches.length === 0) return {};
  let sum = 0;
  let tokens = 0;
  for (const batch of batches) {
    const out = await trainer.evaluate(batch.feeds);
    sum += (out[LOSS]!.data as Float32Array)[0]! * batch.tokens;
    tokens += batch.tokens;
  }
  const loss = sum / tokens;
  return { validation_loss: loss, validation_perplexity: Math.exp(loss) };
}

function texts(documents: readonly TextDocument[]): string[] {
  return documents.map((d) => d.text);
}
