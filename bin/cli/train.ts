/**
 * `modelstack train <data>`: the container's `train` on this machine. Lays out SageMaker's
 * /opt/ml tree in a temporary folder (hyperparameters.json, input/data/<channel>/), runs the same
 * training code, then packs model/ into model.tar.gz (as SageMaker does) and writes a loss-curve
 * SVG beside it.
 */
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ALGORITHMS, modelSummary } from '../../model-runtime/src/artifact/model-description.ts';
import { stdoutClosed } from '../../model-runtime/src/closed-stdout.ts';
import { runtimePaths, type RuntimePaths } from '../../model-runtime/src/contract/paths.ts';
import { trainingProgressBar } from '../../model-runtime/src/train/progress-bar.ts';
import type { TrainingEvent, TrainingResult } from '../../model-runtime/src/train/training-events.ts';
import { trainingLogLine } from '../../model-runtime/src/train/training-log.ts';
import { confusionMatrixSvg } from './confusion-matrix.ts';
import { lossCurveSvg } from './loss-curve.ts';
import { archivePath, displayPath, writeModelArchive } from './model-archive.ts';

interface TrainOptions {
  /** Unset: the runtime's own default (mlp), from the one hyperparameter table. */
  readonly algorithm?: string;
  readonly hp: Record<string, string>;
  readonly validation?: string;
  readonly output: string;
}

export function trainCommand(): Command {
  return new Command('train')
    .description('Train a model on a CSV or JSON Lines file (or a folder of them), or on a folder of class folders of images or WAV files, as a SageMaker training job would, and write model.tar.gz.')
    .argument('<data>', 'training data: a .csv / .jsonl file or a folder of them (by default the label is the first CSV column, or the JSON key "label"; text models read the "text" key or CSV column, text_column); for image-classifier and audio-classifier a folder with one folder of PNG/JPEG or WAV files per class')
    .addOption(new Option('-a, --algorithm <name>', 'model to fit (default: mlp, which fits regression and classification alike)').choices(ALGORITHMS))
    .option('--hp <key=value>', 'a hyperparameter, repeatable (e.g. --hp epochs=50 --hp learning_rate=0.01)', collectHyperparameter, {})
    .option('--validation <file>', 'validation data (same format); default: hold out validation_fraction of the training rows')
    .option('-o, --output <file>', 'where to write the model archive', 'model.tar.gz')
    .addHelpText('after', `
Examples:
  $ modelstack train data.csv --algorithm linear-regression --hp epochs=30
  $ modelstack train iris.csv --algorithm mlp --hp hidden_sizes=16,16 --hp label_column=species --output iris.tar.gz
  $ modelstack train reviews.jsonl --algorithm text-classifier --hp n_layer=2 --hp n_embd=64 --hp vocab_size=2000
  $ modelstack train photos/ --algorithm image-classifier --hp image_size=64 --hp augment_flip=true

Writes the archive, prints its SHA-256 and the model digest, and writes <output>.loss.svg
(train and validation loss per epoch); the CNN classifiers also <output>.confusion.svg (the validation
confusion matrix, per-class precision and recall). Hyperparameter names: see the README's table.`)
    .action(async (data: string, options: TrainOptions) => {
      // Piped into `head`, the reader may leave mid-run: stop then, and still remove the temporary job.
      const trained = await trainModel(data, { ...options, hyperparameters: withAlgorithm(options.hp, options.algorithm), signal: stdoutClosed() });
      process.stdout.write(
        `model: ${displayPath(trained.archive)}\n` +
        `sha256: ${trained.sha256}\n` +
        `model digest: ${trained.result.manifest.digest}\n` +
        `loss curve: ${displayPath(trained.lossCurve)}\n` +
        (trained.confusionMatrix === null ? '' : `confusion matrix: ${displayPath(trained.confusionMatrix)}\n`),
      );
    });
}

export interface TrainModelOptions {
  /** hyperparameters.json, every value a string (algorithm included). */
  readonly hyperparameters: Readonly<Record<string, string>>;
  /** Validation data file or folder. */
  readonly validation?: string;
  /** Where to write model.tar.gz. */
  readonly output: string;
  /**
   * Receives the run's events (model-runtime/src/train/training-events.ts) instead of the default report.
   * @default a progress bar at a terminal, else the metric and data lines on stdout (see terminalReport)
   */
  readonly onEvent?: (event: TrainingEvent) => void;
  /** Stops training early; trainModel then rejects with the signal's reason, after removing its temporary job. */
  readonly signal?: AbortSignal;
}

export interface TrainedModel {
  readonly archive: string;
  readonly sha256: string;
  readonly lossCurve: string;
  /** The validation confusion matrix SVG (classifiers with validation data), else null. */
  readonly confusionMatrix: string | null;
  readonly result: TrainingResult;
}

/** Trains in a temporary SageMaker tree, writes model.tar.gz and its loss curve, removes the tree. */
export async function trainModel(data: string, options: TrainModelOptions): Promise<TrainedModel> {
  const archive = await archivePath(options.output);
  const root = await mkdtemp(path.join(os.tmpdir(), 'modelstack-train-'));
  try {
    const paths = runtimePaths(root);
    await layOutJob(paths, data, options);
    const report = options.onEvent === undefined ? terminalReport() : { onEvent: options.onEvent, stop: () => undefined };
    const result = await train(paths, report, options.signal);
    const sha256 = await writeModelArchive(paths.model, archive);
    const lossCurve = lossCurvePath(archive);
    await writeFile(lossCurve, lossCurveSvg(result.history, `${modelSummary(result.description)}: loss per epoch`));
    let confusionMatrix: string | null = null;
    if (result.validationReport !== undefined) {
      confusionMatrix = `${archive.replace(/(\.tar\.gz|\.tgz|\.tar)$/, '')}.confusion.svg`;
      await writeFile(confusionMatrix, confusionMatrixSvg(result.validationReport, `${modelSummary(result.description)}: validation confusion matrix`));
    }
    return { archive, sha256, lossCurve, confusionMatrix, result };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** `model.tar.gz` -> `model.loss.svg`, beside it. */
export function lossCurvePath(archive: string): string {
  return `${archive.replace(/(\.tar\.gz|\.tgz|\.tar)$/, '')}.loss.svg`;
}

export function collectHyperparameter(pair: string, previous: Record<string, string>): Record<string, string> {
  const separator = pair.indexOf('=');
  if (separator <= 0) {
    throw new InvalidArgumentError(`'${pair}' is not key=value; write e.g. --hp epochs=50`);
  }
  return { ...previous, [pair.slice(0, separator).trim()]: pair.slice(separator + 1).trim() };
}

/** SageMaker's tree: hyperparameters.json (all strings) and one folder per channel. */
export async function layOutJob(paths: RuntimePaths, data: string, options: Pick<TrainModelOptions, 'hyperparameters' | 'validation'>): Promise<void> {
  await mkdir(path.dirname(paths.hyperparameters), { recursive: true });
  await writeFile(paths.hyperparameters, `${JSON.stringify(options.hyperparameters, null, 2)}\n`);
  await linkChannel(data, paths.channel('train'), 'training data');
  if (options.validation !== undefined) await linkChannel(options.validation, paths.channel('validation'), '--validation');
}

/**
 * Links the data into the channel instead of copying it: data larger than memory would otherwise
 * be copied whole into the temporary folder before training starts. A folder becomes the channel
 * folder itself (the runtime reads it recursively); a file is linked under its own name.
 */
async function linkChannel(source: string, channelDir: string, what: string): Promise<void> {
  const resolved = path.resolve(source);
  const info = await stat(resolved).catch(() => undefined);
  if (info === undefined) throw new Error(`${what} ${source} does not exist`);
  await mkdir(path.dirname(channelDir), { recursive: true });
  if (info.isDirectory()) {
    await symlink(resolved, channelDir, 'dir');
  } else {
    await mkdir(channelDir);
    await symlink(resolved, path.join(channelDir, path.basename(resolved)), 'file');
  }
}

/** A subscriber to the run's events, told when the run has ended (either way). */
interface TrainingReport {
  readonly onEvent: (event: TrainingEvent) => void;
  readonly stop: () => void;
}

/**
 * What `modelstack train` shows of a run. At a terminal: the progress bar, with the data and
 * cross-validation lines above it; the per-epoch metric lines are held back (the bar shows epoch
 * and losses) and the last one, the kept epoch's final metrics, is printed when the bar stops.
 * Elsewhere: every line on stdout. Never the runtime's model line: it names the temporary job's
 * folder, and the archive is what to look at.
 */
function terminalReport(): TrainingReport {
  const bar = process.stderr.isTTY ? trainingProgressBar() : null;
  let heldMetricLine: string | undefined;
  return {
    onEvent(event) {
      if (event.kind === 'done') return;
      const line = trainingLogLine(event);
      if (bar === null) {
        if (line !== null) process.stdout.write(`${line}\n`);
        return;
      }
      bar.update(event);
      if (line === null) return;
      if (event.kind === 'epoch' || (event.kind === 'evaluation' && event.of === 'final')) {
        heldMetricLine = line;
      } else {
        bar.clearLine();
        process.stderr.write(`${line}\n`);
      }
    },
    stop() {
      bar?.stop();
      if (heldMetricLine !== undefined) process.stderr.write(`${heldMetricLine}\n`);
    },
  };
}

/** Runs training in this process, its events to `report`; Ctrl-C or `stop` ends it. */
async function train(paths: RuntimePaths, report: TrainingReport, stop: AbortSignal | undefined): Promise<TrainingResult> {
  const { runTraining } = await import('../../model-runtime/src/train/run.ts');
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  process.once('SIGINT', onInterrupt);
  try {
    const result = await runTraining(paths, {
      signal: stop === undefined ? controller.signal : AbortSignal.any([controller.signal, stop]),
      onEvent: report.onEvent,
    });
    report.stop();
    return result;
  } catch (error) {
    report.stop();
    if (stop?.aborted) throw stop.reason;
    if (controller.signal.aborted) throw new Error('training interrupted');
    throw error;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** `--algorithm` fills in `algorithm` unless `--hp algorithm=` already set it; neither leaves the runtime's default. */
function withAlgorithm(hp: Readonly<Record<string, string>>, algorithm: string | undefined): Record<string, string> {
  if (hp.algorithm !== undefined || algorithm === undefined) return { ...hp };
  return { ...hp, algorithm };
}
