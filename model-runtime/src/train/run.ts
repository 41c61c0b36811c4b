/**
 * `model-runtime train`, minus the process concerns (main.ts handles exit codes, the failure
 * file, signals and the progress bar): reads the job's hyperparameters and hands the job to the
 * run of its algorithm. Every run reports through one stream of typed events
 * (training-events.ts), checkpoints to checkpoints/, stops cleanly on the signal, and writes
 * model/ (model.json, model.onnx, ..., MANIFEST.json).
 *
 *   linear-regression, logistic-regression, mlp   run-tabular.ts
 *   text-classifier                               run-text-classifier.ts
 *   language-model                                run-language-model.ts
 *   matrix-factorization                          run-matrix-factorization.ts
 *   image-classifier, audio-classifier            run-image-classifier.ts, run-audio-classifier.ts (over run-cnn-classifier.ts)
 *
 * The text and CNN runs are imported only when asked for, so a tabular job never loads them.
 */
import type { RuntimePaths } from '../contract/paths.ts';
import { runTabularTraining } from './run-tabular.ts';
import { openTrainingJob, type TrainingOptions } from './training-job.ts';
import type { TrainingResult } from './training-events.ts';

export type { TrainingOptions } from './training-job.ts';

export async function runTraining(sagemakerPaths: RuntimePaths, options: TrainingOptions = {}): Promise<TrainingResult> {
  const job = await openTrainingJob(sagemakerPaths, options);
  switch (job.hp.algorithm) {
    case 'text-classifier':
      return (await import('./run-text-classifier.ts')).runTextClassifierTraining(job);
    case 'language-model':
      return (await import('./run-language-model.ts')).runLanguageModelTraining(job);
    case 'matrix-factorization':
      return (await import('./run-matrix-factorization.ts')).runMatrixFactorizationTraining(job);
    case 'image-classifier':
      return (await import('./run-image-classifier.ts')).runImageClassifierTraining(job);
    case 'audio-classifier':
      return (await import('./run-audio-classifier.ts')).runAudioClassifierTraining(job);
    case 'linear-regression':
    case 'logistic-regression':
    case 'mlp':
      return runTabularTraining(job, job.hp.algorithm);
  }
}
