/**
 * Structured JSON logs (Powertools for AWS Lambda): one logger per handler, named after the
 * pipeline step, so CloudWatch Logs Insights can filter a run by `trainingJobName` or step.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export function createLogger(step: string): Logger {
  return new Logger({ serviceName: 'modelstack-pipeline', persistentLogAttributes: { step } });
}
