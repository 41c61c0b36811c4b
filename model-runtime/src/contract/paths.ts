import path from 'node:path';

/**
 * SageMaker's container file layout, rooted at MODEL_RUNTIME_ROOT (default /opt/ml) so the
 * same runtime runs in the container and in a temporary folder on a laptop or in tests.
 */
export interface RuntimePaths {
  readonly root: string;
  readonly hyperparameters: string;
  readonly inputDataConfig: string;
  readonly resourceConfig: string;
  /** The folder of one input channel, e.g. `train` or `validation`. */
  channel(name: string): string;
  /** Where training writes the artifact and serving reads it. */
  readonly model: string;
  /** Written on failure; its first 1024 characters become the job's FailureReason. */
  readonly failure: string;
  readonly output: string;
  readonly checkpoints: string;
}

export const DEFAULT_RUNTIME_ROOT = '/opt/ml';

export function runtimePaths(root: string = process.env.MODEL_RUNTIME_ROOT ?? DEFAULT_RUNTIME_ROOT): RuntimePaths {
  const resolved = path.resolve(root);
  return {
    root: resolved,
    hyperparameters: path.join(resolved, 'input', 'config', 'hyperparameters.json'),
    inputDataConfig: path.join(resolved, 'input', 'config', 'inputdataconfig.json'),
    resourceConfig: path.join(resolved, 'input', 'config', 'resourceconfig.json'),
    channel: (name: string) => path.join(resolved, 'input', 'data', name),
    model: path.join(resolved, 'model'),
    failure: path.join(resolved, 'output', 'failure'),
    output: path.join(resolved, 'output'),
    checkpoints: path.join(resolved, 'checkpoints'),
  };
}
