import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/**
 * Retry policy of the pipeline's steps. The handlers' SDK clients already retry each throttled
 * call a few times (lambda/shared/aws-clients.ts); when SageMaker or S3 keep throttling for
 * longer, the handler fails with the SDK's error name and Step Functions retries the whole
 * step (safe: every step is idempotent) with exponential backoff and jitter.
 */
export const THROTTLING_ERRORS = ['ThrottlingException', 'TooManyRequestsException', 'SlowDown', 'RequestLimitExceeded'];

/** Throttling: 5 s, 10 s, 20 s, ... up to 6 attempts. */
export const THROTTLING_RETRY: sfn.RetryProps = {
  errors: THROTTLING_ERRORS,
  interval: Duration.seconds(5),
  backoffRate: 2,
  maxAttempts: 6,
  jitterStrategy: sfn.JitterType.FULL,
};

/** The endpoint is busy with another change: try again every 2 minutes for up to an hour. */
export const ENDPOINT_BUSY_RETRY: sfn.RetryProps = {
  errors: ['EndpointBusyError'],
  interval: Duration.minutes(2),
  backoffRate: 1,
  maxAttempts: 30,
};

/** Step Functions' own SageMaker integrations report throttling at job creation like this. */
export const SAGEMAKER_INTEGRATION_RETRY: sfn.RetryProps = {
  errors: ['SageMaker.AmazonSageMakerException', 'SageMaker.ThrottlingException'],
  interval: Duration.seconds(30),
  backoffRate: 2,
  maxAttempts: 3,
  jitterStrategy: sfn.JitterType.FULL,
};
