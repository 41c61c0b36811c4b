/**
 * The process around the runtime: parses the command, and for `train` owns what SageMaker
 * reads from the outside: exit status, output/failure, stdout metric lines (train/training-log.ts
 * writes them from the run's events), SIGTERM -> checkpoint and a clean exit.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { modelSummary } from './artifact/model-description.ts';
import { CLOSED_STDOUT_EXIT_CODE, stdoutClosed } from './closed-stdout.ts';
import { HyperparameterError } from './contract/hyperparameters.ts';
import { runtimePaths, type RuntimePaths } from './contract/paths.ts';
import { FolderNotWritableError, ensureWritableFolders } from './contract/writable-folders.ts';
import { DataError } from './data/data-error.ts';
import { TokenizerError } from './text/text-error.ts';
import { TrainingStopped } from './train/fit.ts';
import { trainingProgressBar } from './train/progress-bar.ts';
import { logTrainingLines } from './train/training-log.ts';

/** SageMaker keeps the first 1024 characters of output/failure as the job's FailureReason. */
const FAILURE_REASON_LIMIT = 1024;

const HELP_AFTER = `
Paths follow SageMaker's container layout under MODEL_RUNTIME_ROOT (default /opt/ml):
  input/config/hyperparameters.json   training settings (all values strings)
  input/config/inputdataconfig.json   channel content types (optional)
  input/data/train/, input/data/validation/   CSV or JSON Lines files
  model/                              the trained artifact (model.onnx, model.json, MANIFEST.json)
  output/failure                      why a failed run failed
  checkpoints/                        resumable training state`;

async function train(paths: RuntimePaths): Promise<number> {
  // An output/ that is not a usable folder is reported below, by ensureWritableFolders.
  await rm(paths.failure, { force: true }).catch(() => undefined);
  const controller = new AbortController();
  const onSigterm = () => {
    console.error('SIGTERM: writing a checkpoint, then stopping');
    controller.abort();
  };
  process.on('SIGTERM', onSigterm);
  // Metric lines go to stdout; a reader that leaves (`| head`) stops the run as SIGTERM does.
  const closed = stdoutClosed();
  const onStdoutClosed = () => {
    console.error('stdout closed: writing a checkpoint, then stopping');
    controller.abort();
  };
  closed.addEventListener('abort', onStdoutClosed, { once: true });
  const bar = process.stderr.isTTY ? trainingProgressBar() : null;
  try {
    await ensureWritableFolders(paths);
    // Loaded here so `serve` never pays for the training modules, nor `train` for serving's.
    const { runTraining } = await import('./train/run.ts');
    const printLine = logTrainingLines((line) => {
      bar?.clearLine();
      console.log(line);
    });
    const result = await runTraining(paths, {
      signal: controller.signal,
      onEvent: (event) => {
        printLine(event);
        bar?.update(event);
      },
    });
    bar?.stop();
    console.error(`trained ${modelSummary(result.description)} -> ${result.modelDir}`);
    return 0;
  } catch (error) {
    bar?.stop();
    if (error instanceof TrainingStopped) {
      console.error(`${error.message}; running train again resumes from ${paths.checkpoints}`);
      return closed.aborted ? CLOSED_STDOUT_EXIT_CODE : 0;
    }
    const reason = failureReason(error);
    console.error(reason);
    const explained = error instanceof HyperparameterError || error instanceof DataError || error instanceof TokenizerError || error instanceof FolderNotWritableError;
    if (!explained && error instanceof Error && error.stack) console.error(error.stack);
    await writeFailure(paths, reason);
    return 1;
  } finally {
    process.off('SIGTERM', onSigterm);
    closed.removeEventListener('abort', onStdoutClosed);
  }
}

/** output/failure for SageMaker's FailureReason; where it cannot be written, say so in one line, not a stack trace. */
async function writeFailure(paths: RuntimePaths, reason: string): Promise<void> {
  try {
    await mkdir(path.dirname(paths.failure), { recursive: true });
    await writeFile(paths.failure, reason.slice(0, FAILURE_REASON_LIMIT));
  } catch (error) {
    console.error(`could not write ${paths.failure} either (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): the reason above is the only record`);
  }
}

/** One line that says what was wrong: the category first, since the job's console truncates. */
function failureReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof HyperparameterError) return `Invalid hyperparameters: ${message}`;
  // A tokenizer refuses only the training text it is learned from (empty, not UTF-8).
  if (error instanceof DataError || error instanceof TokenizerError) return `Invalid training data: ${message}`;
  if (error instanceof FolderNotWritableError) return `Invalid job folders: ${message}`;
  return `Training failed: ${message}`;
}

async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('model-runtime')
    .description('Train and serve models under the SageMaker container contract.')
    .addHelpText('after', HELP_AFTER)
    .exitOverride()
    .showHelpAfterError();
  program
    .command('train')
    .description('train on input/data/*, write the model to model/ (exit 1 and output/failure on error)')
    .action(async () => {
      exitCode = await train(runtimePaths());
    });
  program
    .command('serve')
    .description('serve model/ on port 8080 (SAGEMAKER_BIND_TO_PORT): GET /ping, POST /invocations')
    .action(async () => {
      const { runServe } = await import('./serve/command.ts');
      exitCode = await runServe(runtimePaths());
    });
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return 2;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return exitCode;
}

process.exitCode = await main(process.argv.slice(2));
