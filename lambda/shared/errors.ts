/**
 * Errors the handlers throw on purpose. Each sets `name`, which Lambda reports as the error
 * type, so the state machine can tell them apart (Retry on EndpointBusyError, Catch the rest)
 * and the SNS notification says what went wrong in one word.
 */

/** The event handed to a handler is missing a field or has a wrong value. */
export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}

/** The model artifact (model.tar.gz) is not where the training job or the registry says. */
export class ArtifactMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactMissingError';
  }
}

/** The training job did not report a metric the evaluation needs: the gate fails closed. */
export class MetricMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricMissingError';
  }
}

/** A deployment was asked for a model package that is not Approved. */
export class ModelNotApprovedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelNotApprovedError';
  }
}

/** The endpoint is being created, updated or rolled back by someone else; retry later. */
export class EndpointBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EndpointBusyError';
  }
}
