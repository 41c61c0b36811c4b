/**
 * Evaluation gate: may this training run's model replace the one in production?
 *
 * Reads the final metrics SageMaker parsed from the runtime's stdout (DescribeTrainingJob
 * FinalMetricDataList), and passes the model only if the objective metric
 *   1. is there at all (a missing metric fails closed: MetricMissingError),
 *   2. meets the configured threshold, and
 *   3. is no worse than the model the endpoint serves now (read from the tags the pipeline put
 *      on the endpoint configuration it deployed; an endpoint with no recorded metric, or no
 *      endpoint yet, is no obstacle).
 * A model that fails 2 or 3 is not an error: the result says `passed: false` and why, and the
 * state machine stops before registering it.
 */
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeTrainingJobCommand,
  ListTagsCommand,
} from '@aws-sdk/client-sagemaker';
import { sageMakerClient } from './shared/aws-clients.ts';
import { InvalidInputError, MetricMissingError } from './shared/errors.ts';
import { createLogger } from './shared/logger.ts';
import { ENDPOINT_CONFIG_TAGS } from './shared/package-metadata.ts';
import { isNotFound } from './shared/sagemaker-errors.ts';

export type ObjectiveGoal = 'minimize' | 'maximize';

export interface EvaluateEvent {
  readonly trainingJobName: string;
  readonly endpointName: string;
  readonly objective: {
    /** A metric name from model-runtime/src/contract/metrics.ts, e.g. validation_loss. */
    readonly metric: string;
    readonly goal: ObjectiveGoal;
    /** minimize: the metric must be <= threshold; maximize: >= threshold. */
    readonly threshold: number;
  };
}

export interface ProductionModel {
  readonly endpointConfigName: string;
  readonly modelPackageArn: string | null;
  readonly value: number;
}

export interface EvaluateResult {
  readonly passed: boolean;
  /** One line per check, e.g. "validation_loss 0.21 <= threshold 0.5". */
  readonly reasons: readonly string[];
  readonly metric: string;
  readonly goal: ObjectiveGoal;
  readonly value: number;
  readonly threshold: number;
  readonly production: ProductionModel | null;
  /** Every final metric of the job. */
  readonly metrics: Readonly<Record<string, number>>;
}

const logger = createLogger('evaluate');

export async function handler(event: EvaluateEvent): Promise<EvaluateResult> {
  validate(event);
  const { metric, goal, threshold } = event.objective;
  const job = await sageMakerClient().send(new DescribeTrainingJobCommand({ TrainingJobName: event.trainingJobName }));
  const metrics: Record<string, number> = {};
  for (const { MetricName, Value } of job.FinalMetricDataList ?? []) {
    if (MetricName !== undefined && typeof Value === 'number' && Number.isFinite(Value)) metrics[MetricName] = Value;
  }
  const value = metrics[metric];
  if (value === undefined) {
    throw new MetricMissingError(
      `training job ${event.trainingJobName} reported no finite ${metric} (it reported: ${Object.keys(metrics).sort().join(', ') || 'nothing'}); ` +
        `the runtime prints ${metric} only when it has data for it (e.g. validation_fraction > 0 for validation_*), so the model is not deployed`,
    );
  }

  const better = (a: number, b: number): boolean => (goal === 'minimize' ? a <= b : a >= b);
  const relation = goal === 'minimize' ? '<=' : '>=';
  const reasons: string[] = [];
  let passed = better(value, threshold);
  reasons.push(`${metric} ${value} ${passed ? relation : `not ${relation}`} threshold ${threshold}`);

  const production = await productionModel(event.endpointName, metric);
  if (production === null) {
    reasons.push(`no ${metric} recorded for the model endpoint ${event.endpointName} serves now; nothing to compare with`);
  } else {
    const noWorse = better(value, production.value);
    passed &&= noWorse;
    reasons.push(`${metric} ${value} ${noWorse ? relation : `not ${relation}`} production ${production.value} (${production.endpointConfigName})`);
  }
  logger.info(passed ? 'model passed evaluation' : 'model rejected', { trainingJobName: event.trainingJobName, reasons });
  return { passed, reasons, metric, goal, value, threshold, production, metrics };
}

/** The objective recorded on the endpoint's current configuration, or null if none is recorded. */
async function productionModel(endpointName: string, metric: string): Promise<ProductionModel | null> {
  const client = sageMakerClient();
  let endpointConfigName: string | undefined;
  try {
    endpointConfigName = (await client.send(new DescribeEndpointCommand({ EndpointName: endpointName }))).EndpointConfigName;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  if (!endpointConfigName) return null;
  const config = await client.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpointConfigName }));
  const tags = (await client.send(new ListTagsCommand({ ResourceArn: config.EndpointConfigArn }))).Tags ?? [];
  const tag = (key: string): string | undefined => tags.find((entry) => entry.Key === key)?.Value;
  const value = Number(tag(ENDPOINT_CONFIG_TAGS.objectiveValue));
  if (tag(ENDPOINT_CONFIG_TAGS.objectiveMetric) !== metric || tag(ENDPOINT_CONFIG_TAGS.objectiveValue) === undefined || !Number.isFinite(value)) {
    return null;
  }
  return { endpointConfigName, modelPackageArn: tag(ENDPOINT_CONFIG_TAGS.modelPackageArn) ?? null, value };
}

function validate(event: EvaluateEvent): void {
  if (typeof event.trainingJobName !== 'string' || event.trainingJobName === '') {
    throw new InvalidInputError('evaluate needs trainingJobName (the SageMaker training job to read metrics from)');
  }
  if (typeof event.endpointName !== 'string' || event.endpointName === '') {
    throw new InvalidInputError('evaluate needs endpointName (the endpoint whose production model is the baseline)');
  }
  const objective = event.objective;
  if (!objective || typeof objective.metric !== 'string' || !['minimize', 'maximize'].includes(objective.goal) || !Number.isFinite(objective.threshold)) {
    throw new InvalidInputError(
      `evaluate needs objective {metric: string, goal: "minimize" | "maximize", threshold: finite number}, got ${JSON.stringify(objective)}`,
    );
  }
}
