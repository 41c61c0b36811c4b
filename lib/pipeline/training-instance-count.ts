/**
 * The training job's instance count: one range and one message for the construct
 * (TrainingPipeline.instanceCount) and the config file (modelstack.pipeline.instanceCount).
 *
 * The runtime trains on one instance: it never reads resourceconfig.json and shards nothing, so
 * each extra instance would train the same model on all the data again. Until the runtime uses
 * them, more than one is refused at synth rather than billed.
 *
 * No aws-cdk-lib import: bin/config.ts reads it.
 */

export const TRAINING_INSTANCE_COUNT = { min: 1, max: 1 } as const;

export const TRAINING_INSTANCE_COUNT_EXPECTED =
  '1: the runtime trains on one instance (it does not split the data across instances), so every extra instance would train the same model on all the data again, N times the cost for the same model';

/** Whether `value` is an allowed training instance count. */
export function isTrainingInstanceCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= TRAINING_INSTANCE_COUNT.min && value <= TRAINING_INSTANCE_COUNT.max;
}
