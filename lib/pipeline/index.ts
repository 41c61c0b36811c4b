export * from './batch-transform.ts';
export * from './pipeline-function.ts';
export * from './pipeline-settings.ts';
export * from './pipeline-triggers.ts';
export * from './training-pipeline.ts';
export * from './training-role.ts';
export { CHECKPOINT_LOCAL_PATH, TUNED_HYPERPARAMETERS, type HyperparameterRange } from './training-job-states.ts';
export { THROTTLING_ERRORS } from './step-retries.ts';
