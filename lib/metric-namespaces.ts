/** Invocation metrics, published by SageMaker per endpoint and variant. */
export const INVOCATION_NAMESPACE = 'AWS/SageMaker';
/** Instance utilisation metrics (CPU, memory, GPU, disk), published by the hosting agent. */
export const ENDPOINT_INSTANCE_NAMESPACE = '/aws/sagemaker/Endpoints';
/** Metrics parsed from training jobs' stdout by the runtime's MetricDefinitions. */
export const TRAINING_JOB_NAMESPACE = '/aws/sagemaker/TrainingJobs';
