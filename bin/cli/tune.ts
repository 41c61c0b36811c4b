/**
 * `modelstack tune <data>`: hyperparameter search on this machine. Samples --trials settings from
 * the --hp-range search space (contract/search-space.ts, the same module the pipeline's SageMaker
 * tuning job takes its ranges from), runs them --parallel at a time as runtime training runs in
 * their own processes, stops laggards by successive halving, and writes results.csv, tuning.svg
 * and the best trial's model.tar.gz into --output.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { ALGORITHMS } from '../../model-runtime/src/artifact/model-description.ts';
import { OBJECTIVE_METRICS } from '../../model-runtime/src/contract/objective.ts';
import { displayPath, writeModelArchive } from './model-archive.ts';
import { collectHyperparameter } from './train.ts';
import { resultsCsv } from './tune/results-csv.ts';
import { runSearch } from './tune/search.ts';
import { formatObjective, trialTable } from './tune/trial-table.ts';
import { TuneInputError, tuneSettings, type TuneOptions, type TuneSettings } from './tune/tune-settings.ts';
import { tuningPlotSvg } from './tune/tuning-plot.ts';

/** Exit status for bad input, as commander's own for a bad option. */
const USAGE_EXIT_CODE = 2;

export function tuneCommand(): Command {
  return new Command('tune')
    .description('Search hyperparameters: train many trials (each in its own process), stop the weak ones early, keep the best model.')
    .argument('<data>', 'training data: a .csv / .jsonl file or a folder of them (as for `modelstack train`)')
    .addOption(new Option('-a, --algorithm <name>', 'model to fit (default: mlp)').choices(ALGORITHMS))
    .option('--trials <n>', 'trials to run', '12')
    .option('--parallel <p>', 'trials running at once (default: 2, at most --trials)')
    .option('--objective <metric>', `what to optimise: ${OBJECTIVE_METRICS.join(', ')} (losses and RMSE are minimised, accuracy maximised)`, 'validation_loss')
    .option('--hp-range <name=spec>', 'a searched hyperparameter, repeatable: learning_rate=1e-4:1e-1:log (continuous), epochs=10:50 (integer), batch_size=16,32,64 (one of), hidden_sizes=32|64,64 (one of, | between)', collectRange, [])
    .option('--hp <key=value>', 'a fixed hyperparameter for every trial, repeatable', collectHyperparameter, {})
    .option('--cv-folds <k>', 'score each trial by k-fold cross-validation (objective: the folds\' mean)')
    .option('--validation <file>', 'validation data scoring every trial (default: each trial holds out 20% of the rows)')
    .option('--seed <n>', 'seeds the sampling and each trial\'s seed', '0')
    .option('-o, --output <folder>', 'where to write results.csv, tuning.svg and model.tar.gz', 'tuning')
    .addHelpText('after', `
Examples:
  $ modelstack tune data.csv --trials 8 --hp-range learning_rate=1e-4:1e-1:log --hp-range batch_size=16,32,64,128
  $ modelstack tune iris.csv -a mlp --objective validation_accuracy --hp-range hidden_sizes=32|64,64 --cv-folds 5

Without --hp-range it searches the pipeline's defaults (learning_rate and batch_size, log scales).
Successive halving (eta 3, rungs at epochs 1, 3, 9, ...) stops a trial that is not among the best
third of those that reached the same epoch; with --cv-folds every trial runs to the end. Ctrl-C stops
the running trials and writes what finished.`)
    .action(async function (this: Command, data: string, options: TuneOptions) {
      let settings: TuneSettings;
      try {
        settings = await tuneSettings(data, options);
      } catch (error) {
        if (error instanceof TuneInputError) this.error(`error: ${error.message}`, { exitCode: USAGE_EXIT_CODE, code: 'modelstack.tune.input' });
        throw error;
      }
      process.exitCode = await tune(settings);
    });
}

function collectRange(spec: string, previous: readonly string[]): string[] {
  return [...previous, spec];
}

/** Runs the search and writes its results; the exit status (1 when no trial finished). */
async function tune(settings: TuneSettings): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  for (const note of settings.notes) log(`tune: ${note}`);
  log(`tune: ${settings.trials} trials, ${settings.parallel} at a time, ${settings.objective.metric} (${settings.objective.goal})`);
  const searched = settings.ranges.map((range) => range.name);
  const table = trialTable(process.stdout, searched, settings.objective);
  const controller = new AbortController();
  const onInterrupt = () => {
    log('tune: interrupted: stopping the running trials (SIGTERM), then writing what finished');
    controller.abort();
  };
  process.once('SIGINT', onInterrupt);
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'modelstack-tune-'));
  try {
    const result = await runSearch({
      ...settings,
      // The cross-validated objective arrives once, at the end: no rung has anything to compare.
      halving: !settings.objective.metric.startsWith('cv_'),
      workDir,
      signal: controller.signal,
      onChange: (trial, all) => table.update(trial, all),
    });
    table.stop(result.trials);
    const output = path.resolve(settings.output);
    await mkdir(output, { recursive: true });
    const csv = path.join(output, 'results.csv');
    const svg = path.join(output, 'tuning.svg');
    await writeFile(csv, resultsCsv(result.trials, searched, settings.objective));
    await writeFile(svg, tuningPlotSvg(result.trials, settings.ranges, settings.objective, result.best));
    log(`results: ${displayPath(csv)}\nplot: ${displayPath(svg)}`);
    const counts = ['done', 'stopped early', 'failed', 'interrupted', 'pending'].map((state) => [state, result.trials.filter((t) => t.state === state).length] as const);
    log(`trials: ${counts.filter(([, n]) => n > 0).map(([state, n]) => `${n} ${state === 'pending' ? 'not started' : state}`).join(', ')}`);
    if (result.best === null) {
      log(`tune: no trial finished${result.interrupted ? ' before the interruption' : ''}; ${displayPath(csv)} says why`);
      return 1;
    }
    const archive = path.join(output, 'model.tar.gz');
    const sha256 = await writeModelArchive(result.best.modelDir!, archive);
    const hp = searched.map((name) => `${name}=${result.best!.sampled[name]}`).join(' ');
    process.stdout.write(
      `best: trial ${result.best.index} (${hp}) ${settings.objective.metric}=${formatObjective(result.best.objective)} -> ${displayPath(archive)} (sha256 ${sha256})\n`,
    );
    return result.interrupted ? 130 : 0;
  } finally {
    process.off('SIGINT', onInterrupt);
    await rm(workDir, { recursive: true, force: true });
  }
}
