/**
 * Training a tabular model (linear-regression, logistic-regression, mlp), reporting through the
 * job's events:
 *
 *   1. scan the training data: schema, task, split, statistics (data/)
 *   2. choose how to train from the row count and the keys the user gave (tabular-defaults.ts),
 *      and log the rule
 *   3. cv_folds > 0: fit one model per fold, report mean and spread of their validation metrics
 *   4. fit the final model (mini-batch with early stopping, or full-batch L-BFGS); on small data
 *      first on 90% to measure the hold-out, then on all rows
 *   5. write model.onnx, model.json and MANIFEST.json to model/
 *
 * Checkpoints let a restarted job resume at the batch it stopped at, with the same result.
 */
import { MODEL_FORMAT, type TabularModelDescription, type TabularAlgorithm } from '../artifact/model-description.ts';
import { MODEL_ONNX_FILE } from '../artifact/files.ts';
import { saveArtifact } from '../artifact/save.ts';
import { formatHyperparameters } from '../contract/hyperparameters.ts';
import type { MetricName } from '../contract/metrics.ts';
import type { RuntimePaths } from '../contract/paths.ts';
import type { BatchSource } from '../data/batch-source.ts';
import { prepareData, type PreparedData } from '../data/dataset.ts';
import { HOLDOUT_VALIDATION, partitionCount } from '../data/partitioning.ts';
import type { Preprocessing } from '../data/preprocessing.ts';
import { FullBatchModel } from '../models/full-batch-model.ts';
import { createTrainableModel } from '../models/index.ts';
import { CheckpointError, clearCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint, type EpochMetrics, type FoldResult } from './checkpoint.ts';
import { modelConfig, optimizerConfig, totalSteps, type TabularHyperparameters } from './configs.ts';
import { evaluate, fit, type FitDone } from './fit.ts';
import { MINI_BATCH_KEYS, chooseTabularPlan, type TabularPlan } from './tabular-defaults.ts';
import type { TrainingEvent, TrainingResult } from './training-events.ts';
import { runtimeVersions, type TrainingJob } from './training-job.ts';
import { sha256Hex } from '../artifact/digest.ts';

/** Keeps the shuffles of folds and the final fit apart (epochs never exceed 100000). */
const EPOCH_KEY_STRIDE = 100_003;

export async function runTabularTraining(job: TrainingJob, algorithm: TabularAlgorithm): Promise<TrainingResult> {
  const { paths, inputConfig, emit } = job;
  const given: TabularHyperparameters = { ...job.hp, algorithm };
  const note = (text: string) => emit({ kind: 'note', text });
  const data = await prepareData(paths, given, inputConfig, { maxInMemoryBytes: job.maxInMemoryBytes, log: note });
  const plan = chooseTabularPlan({
    hp: given,
    given: job.givenHyperparameters,
    rows: data.rows,
    task: data.task.task,
    defaultHoldout: data.partitioning.kind === 'holdout' && given.validationFraction === null,
  });
  note(plan.rule);
  // The mini-batch settings the rule chose are what model.json records.
  const hp: TabularHyperparameters =
    plan.solver === 'minibatch' ? { ...given, epochs: plan.epochs, batchSize: plan.batchSize, hiddenSizes: plan.hiddenSizes, earlyStoppingPatience: plan.patience } : given;
  const formatted = formatHyperparameters({ ...hp, task: data.task.task });
  // L-BFGS reads no optimizer, batch or epoch key: model.json does not claim they shaped the model.
  const resolved = plan.solver === 'lbfgs' ? Object.fromEntries(Object.entries(formatted).filter(([name]) => !MINI_BATCH_KEYS.includes(name))) : formatted;
  const fingerprint = sha256Hex(
    new TextEncoder().encode(JSON.stringify({ resolved, plan, schema: data.schema, rows: data.rows, rowsPerPartition: data.scan.rowsPerPartition })),
  );

  const checkpoint = await readCheckpoint(paths.checkpoints);
  if (checkpoint && checkpoint.document.fingerprint !== fingerprint) {
    throw new CheckpointError(
      `the checkpoint in ${paths.checkpoints} was written by a run with other hyperparameters or data; remove it (or use a new checkpoint location) to start over`,
    );
  }
  if (checkpoint) {
    const { phase, fold, position } = checkpoint.document;
    const what = phase === 'final' ? 'the final fit' : data.partitioning.kind === 'holdout' ? 'the hold-out fit' : `cross-validation fold ${fold! + 1}`;
    note(`checkpoint: resuming ${what} at epoch ${position.epoch + 1}, batch ${position.batch + 1}`);
  }

  const run = new TrainingRun(paths, hp, plan, data, fingerprint, job.signal, emit);
  const folds = await run.crossValidate(checkpoint);
  const final = await run.fitFinal(folds, checkpoint);

  const description: TabularModelDescription = {
    format: MODEL_FORMAT,
    algorithm,
    task: data.task.task,
    hyperparameters: resolved,
    features: data.schema.features,
    targets: [data.schema.label],
    labels: data.task.labels,
    preprocessing: {
      featureMean: final.pre.featureMean,
      featureStd: final.pre.featureStd,
      targetMean: final.pre.targetMean,
      targetStd: final.pre.targetStd,
    },
    metrics: final.metrics,
    versions: await runtimeVersions(),
  };
  const manifest = await saveArtifact(paths.model, { [MODEL_ONNX_FILE]: final.onnx }, description);
  await clearCheckpoint(paths.checkpoints);
  const result: TrainingResult = { modelDir: paths.model, description, manifest, history: final.history };
  emit({ kind: 'done', result });
  return result;
}

/** One fit's data and place in the run. */
interface FitArgs {
  readonly phase: 'cv' | 'final';
  readonly fold: number | null;
  /** The folds finished before this fit, for its checkpoints. */
  readonly folds: readonly FoldResult[];
  readonly pre: Preprocessing;
  readonly train: BatchSource;
  readonly validation: BatchSource | null;
  readonly epochs: number;
  /** Early stopping: patience (0 = train all `epochs`) and what it watches. */
  readonly stopping: { readonly patience: number; readonly stopOn: 'validation-loss' | 'train-loss'; readonly tolerance: number };
  readonly resume: Checkpoint | null;
  /** Measure the kept parameters on the training rows and validation rows once the fit is done (the saved model's metrics). */
  readonly measureKept: boolean;
}

/** What fitting one model leaves once its sessions are released. */
interface FittedModel extends Omit<FitDone, 'kind'> {
  /** The kept parameters as model.onnx: the inference graph with `pre` inside. */
  readonly onnx: Uint8Array;
  /** With measureKept: the kept parameters' train_* and validation_* metrics, under their epoch; else {}. */
  readonly keptMetrics: EpochMetrics;
}

/** One training job's state shared by its fits. */
class TrainingRun {
  constructor(
    private readonly paths: RuntimePaths,
    private readonly hp: TabularHyperparameters,
    private readonly plan: TabularPlan,
    private readonly data: PreparedData,
    private readonly fingerprint: string,
    private readonly signal: AbortSignal | undefined,
    private readonly emit: (event: TrainingEvent) => void,
  ) {}

  /** k-fold cross-validation, reported as the cv_* evaluation. Returns the folds' results (none without cv_folds). */
  async crossValidate(checkpoint: Checkpoint | null): Promise<FoldResult[]> {
    const { partitioning } = this.data;
    if (partitioning.kind !== 'folds') return [];
    if (checkpoint?.document.phase === 'final') return [...checkpoint.document.folds];
    const k = partitionCount(partitioning);
    const folds: FoldResult[] = [...(checkpoint?.document.folds ?? [])];
    for (let fold = folds.length; fold < k; fold++) {
      const trainParts = [...Array(k).keys()].filter((p) => p !== fold);
      const pre = this.data.preprocessing(trainParts);
      const fitted = await this.fitOne({
        phase: 'cv',
        fold,
        folds,
        pre,
        train: this.data.source(trainParts, pre),
        validation: this.data.source([fold], pre),
        epochs: this.hp.epochs,
        stopping: this.stopping(),
        resume: checkpoint?.document.phase === 'cv' && checkpoint.document.fold === fold ? checkpoint : null,
        measureKept: false,
      });
      const best = fitted.history[fitted.bestEpoch - 1] ?? {};
      const metrics = pick(best, ['validation_loss', 'validation_accuracy', 'validation_rmse']);
      folds.push({ bestEpoch: fitted.bestEpoch, metrics });
      this.emit({
        kind: 'note',
        text: `cv: fold ${fold + 1}/${k} best epoch ${fitted.bestEpoch}, validation loss ${fmt(metrics.validation_loss)}${metrics.validation_accuracy !== undefined ? `, accuracy ${fmt(metrics.validation_accuracy)}` : ''}`,
      });
    }
    this.emit({ kind: 'evaluation', of: 'cv', metrics: cvSummary(folds) });
    return folds;
  }

  /** The model that is saved: on the training rows (all of them after CV), validated as configured. */
  async fitFinal(folds: readonly FoldResult[], checkpoint: Checkpoint | null) {
    const { partitioning } = this.data;
    if (this.plan.refitOnAllRows && partitioning.kind === 'holdout') return this.fitHoldoutThenAll(checkpoint);
    let trainParts: number[];
    let validation: ((pre: Preprocessing) => BatchSource | null) | null;
    let epochs = this.hp.epochs;
    let stopping = this.stopping();
    if (partitioning.kind === 'holdout') {
      trainParts = [1 - HOLDOUT_VALIDATION];
      validation = (pre) => this.data.source([HOLDOUT_VALIDATION], pre);
    } else {
      trainParts = [...Array(partitionCount(partitioning)).keys()];
      validation = (pre) => this.data.validationChannel(pre);
      if (folds.length > 0 && !this.data.hasValidationChannel) {
        // No rows left to stop early on: train as long as the folds found best, on average.
        epochs = Math.max(1, Math.round(folds.reduce((sum, f) => sum + f.bestEpoch, 0) / folds.length));
        stopping = { ...stopping, patience: 0 };
        this.emit({
          kind: 'note',
          text: this.plan.solver === 'lbfgs'
            ? `final: solving on all ${this.data.rows} rows`
            : `final: training on all ${this.data.rows} rows for ${epochs} epochs (the folds' mean best epoch)`,
        });
      }
    }
    const pre = this.data.preprocessing(trainParts);
    const fitted = await this.fitOne({
      phase: 'final',
      fold: null,
      folds,
      pre,
      train: this.data.source(trainParts, pre),
      validation: validation(pre),
      epochs,
      stopping,
      resume: checkpoint?.document.phase === 'final' ? checkpoint : null,
      measureKept: true,
    });
    this.emit({ kind: 'evaluation', of: 'final', metrics: fitted.keptMetrics });
    if (fitted.stoppedEarly) this.emit({ kind: 'note', text: `final: stopped early after epoch ${fitted.history.length}; kept epoch ${fitted.bestEpoch}` });
    const cv = folds.length > 0 ? cvSummary(folds) : {};
    return { pre, onnx: fitted.onnx, history: fitted.history, metrics: { ...fitted.keptMetrics, ...cv } as Record<string, number> };
  }

  /**
   * Small data without a validation channel: fit on the training partition to measure the
   * hold-out (and, mini-batch, how many epochs to train), then refit on every row for that
   * many epochs. The saved model's validation_* are the hold-out fit's: the estimate of a model
   * trained on a little less data.
   */
  private async fitHoldoutThenAll(checkpoint: Checkpoint | null) {
    let holdout: FoldResult;
    if (checkpoint?.document.phase === 'final') {
      holdout = checkpoint.document.folds[0]!;
    } else {
      const pre = this.data.preprocessing([1 - HOLDOUT_VALIDATION]);
      const fitted = await this.fitOne({
        phase: 'cv',
        fold: 0,
        folds: [],
        pre,
        train: this.data.source([1 - HOLDOUT_VALIDATION], pre),
        validation: this.data.source([HOLDOUT_VALIDATION], pre),
        epochs: this.hp.epochs,
        stopping: this.stopping(),
        resume: checkpoint?.document.phase === 'cv' ? checkpoint : null,
        measureKept: true,
      });
      holdout = { bestEpoch: fitted.bestEpoch, metrics: pick(fitted.keptMetrics, ['validation_loss', 'validation_accuracy', 'validation_rmse']) };
    }
    const epochs = holdout.bestEpoch;
    this.emit({
      kind: 'note',
      text: `final: hold-out validation loss ${fmt(holdout.metrics.validation_loss)}; refitting on all ${this.data.rows} rows${this.plan.solver === 'minibatch' ? ` for ${epochs} epochs` : ''}`,
    });
    const all = [...Array(partitionCount(this.data.partitioning)).keys()];
    const pre = this.data.preprocessing(all);
    const fitted = await this.fitOne({
      phase: 'final',
      fold: null,
      folds: [holdout],
      pre,
      train: this.data.source(all, pre),
      validation: null,
      epochs,
      stopping: { ...this.stopping(), patience: 0 },
      resume: checkpoint?.document.phase === 'final' ? checkpoint : null,
      measureKept: true,
    });
    const metrics: EpochMetrics = { ...fitted.keptMetrics, ...holdout.metrics };
    this.emit({ kind: 'evaluation', of: 'final', metrics });
    return { pre, onnx: fitted.onnx, history: fitted.history, metrics: metrics as Record<string, number> };
  }

  private stopping(): FitArgs['stopping'] {
    return this.plan.solver === 'minibatch'
      ? { patience: this.plan.patience, stopOn: this.plan.stopOn, tolerance: this.plan.tolerance }
      : { patience: 0, stopOn: 'validation-loss', tolerance: 0 };
  }

  /** Fits one model, writing its checkpoints and forwarding its progress; its sessions are released however the fit ends. */
  private async fitOne(args: FitArgs): Promise<FittedModel> {
    if (this.plan.solver === 'lbfgs') return this.fitFullBatch(args, this.plan);
    const { hp, data } = this;
    const task = data.task.task;
    const targetStd = args.pre.targetStd?.[0] ?? 1;
    const model = await createTrainableModel(
      modelConfig(hp, task, data.schema.features.length, data.task.labels?.length ?? 0),
      optimizerConfig(hp, totalSteps(args.train.rows, hp.batchSize, args.epochs)),
    );
    try {
      if (args.resume) {
        if (JSON.stringify(args.resume.document.preprocessing) !== JSON.stringify(args.pre)) {
          throw new CheckpointError(`the checkpoint in ${this.paths.checkpoints} was written with other preprocessing: the data changed; remove it to start over`);
        }
        model.setState(args.resume.state);
      }
      const context = { phase: args.phase, fold: args.fold, epochs: args.epochs };
      const events = fit({
        model,
        task,
        train: args.train,
        validation: args.validation,
        epochs: args.epochs,
        batchSize: hp.batchSize,
        patience: args.stopping.patience,
        stopOn: args.stopping.stopOn,
        tolerance: args.stopping.tolerance,
        epochKeyBase: (args.fold === null ? 0 : args.fold + 1) * EPOCH_KEY_STRIDE,
        targetStd,
        checkpointEverySteps: hp.checkpointEverySteps,
        resume: args.resume ? { position: args.resume.document.position, best: args.resume.best } : null,
        signal: this.signal,
      });
      for await (const event of events) {
        switch (event.kind) {
          case 'batch':
          case 'epoch':
            this.emit({ ...event, ...context });
            break;
          case 'checkpoint':
            await writeCheckpoint(
              this.paths.checkpoints,
              { fingerprint: this.fingerprint, phase: args.phase, fold: args.fold, folds: args.folds, position: event.position, preprocessing: args.pre },
              model.getState(),
              event.best,
            );
            break;
          case 'done': {
            const { history, bestEpoch, stoppedEarly } = event;
            // Measured without dropout, so train_loss here is what the saved model scores.
            const keptMetrics: EpochMetrics = args.measureKept
              ? { epoch: bestEpoch, ...(await evaluate({ model, task, targetStd }, args.train, 'train')), ...(await evaluate({ model, task, targetStd }, args.validation)) }
              : {};
            return { history, bestEpoch, stoppedEarly, keptMetrics, onnx: model.exportInference(args.pre) };
          }
        }
      }
      throw new Error('the fit ended without its done event');
    } finally {
      await model.release();
    }
  }

  /**
   * Linear models solved to convergence on all of `args.train` at once (models/full-batch-model.ts):
   * one "epoch" in the history and metric lines. No checkpoints: the fit is deterministic and
   * bounded (<= 100000 rows, <= 500 passes), so a restarted job redoes it and gets the same model.
   */
  private async fitFullBatch(args: FitArgs, plan: Extract<TabularPlan, { solver: 'lbfgs' }>): Promise<FittedModel> {
    const task = this.data.task.task;
    const targetStd = args.pre.targetStd?.[0] ?? 1;
    const model = await FullBatchModel.create(modelConfig(this.hp, task, this.data.schema.features.length, this.data.task.labels?.length ?? 0));
    try {
      const result = await model.fit(args.train, { l2: plan.l2TimesRows / args.train.rows, maxIterations: plan.maxIterations, gradientTolerance: plan.gradientTolerance });
      this.emit({
        kind: 'note',
        text: `L-BFGS: ${result.reason === 'gradient' ? 'converged' : result.reason === 'no-progress' ? 'stopped (no further progress in float32)' : 'stopped at the iteration limit'} after ${result.iterations} iterations, objective ${fmt(result.loss)}`,
      });
      const spec = { model, task, targetStd };
      const trainMetrics = await evaluate(spec, args.train, 'train');
      const validationMetrics = await evaluate(spec, args.validation);
      const metrics = { epoch: 1, train_loss: trainMetrics.train_loss!, ...validationMetrics };
      this.emit({ kind: 'epoch', epoch: 1, batches: 1, metrics, phase: args.phase, fold: args.fold, epochs: 1 });
      const keptMetrics: EpochMetrics = args.measureKept ? { epoch: 1, ...trainMetrics, ...validationMetrics } : {};
      return { history: [metrics], bestEpoch: 1, stoppedEarly: false, keptMetrics, onnx: model.exportInference(args.pre) };
    } finally {
      await model.release();
    }
  }
}

function meanStd(folds: readonly FoldResult[], metric: MetricName, meanName: MetricName, stdName: MetricName): EpochMetrics {
  const values = folds.map((f) => f.metrics[metric]).filter((v): v is number => v !== undefined);
  if (values.length === 0) return {};
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  // Sample standard deviation: the spread a new fold would show.
  const variance = values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return { [meanName]: mean, [stdName]: Math.sqrt(variance) };
}

function cvSummary(folds: readonly FoldResult[]): EpochMetrics {
  return {
    ...meanStd(folds, 'validation_loss', 'cv_validation_loss_mean', 'cv_validation_loss_std'),
    ...meanStd(folds, 'validation_accuracy', 'cv_validation_accuracy_mean', 'cv_validation_accuracy_std'),
  };
}

function pick(metrics: EpochMetrics, names: readonly MetricName[]): EpochMetrics {
  return Object.fromEntries(names.filter((n) => metrics[n] !== undefined).map((n) => [n, metrics[n]]));
}

function fmt(value: number | undefined): string {
  return value === undefined ? 'n/a' : value.toPrecision(4);
}
