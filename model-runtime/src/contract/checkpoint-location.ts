import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RuntimePaths } from './paths.ts';

/**
 * Where this training job keeps its checkpoints.
 *
 * A plain job uses checkpoints/ itself, so a managed-spot restart (same job, same S3 URI) resumes.
 * The training jobs of a hyperparameter tuning job all share the tuning job's CheckpointConfig
 * S3 URI, so every sibling's checkpoint can be restored into every job; since each sibling has
 * other hyperparameters, its checkpoint would be (rightly) refused and fail the job. A tuning
 * job's training job is recognised by the `_tuning_objective_metric` key SageMaker adds to its
 * hyperparameters.json, and keeps its checkpoints in checkpoints/<TRAINING_JOB_NAME>/, a name
 * that stays the same across spot restarts of that job.
 */
export async function checkpointDirectory(paths: RuntimePaths, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const jobName = env.TRAINING_JOB_NAME;
  if (jobName === undefined || jobName === '' || !(await isTuningJob(paths.hyperparameters))) return paths.checkpoints;
  return path.join(paths.checkpoints, path.basename(jobName));
}

async function isTuningJob(hyperparametersFile: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(hyperparametersFile, 'utf8');
  } catch {
    return false; // no hyperparameters.json: not a tuning job (its absence is reported where it matters)
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && '_tuning_objective_metric' in parsed;
  } catch {
    return false; // malformed JSON is reported by the hyperparameter reader, with its position
  }
}
