/**
 * One error type for everything an invocation can fail with, so an application handles
 * "the model refused this request" apart from "the endpoint is not there" without knowing the
 * SDK's exception classes or the runtime's JSON error body.
 */
import { ModelError, ModelStreamError, SageMakerRuntimeServiceException } from '@aws-sdk/client-sagemaker-runtime';

export type EndpointErrorKind =
  /** The model answered with an error: `statusCode` 4xx means fix the request, 5xx the model failed. */
  | 'model'
  /** SageMaker refused the call before the model saw it: no such endpoint, a body over the limit, bad parameters. */
  | 'validation'
  /** SageMaker is throttling, or the endpoint's instances are busy or unavailable: retry later. */
  | 'unavailable'
  /** No credentials or no region to call AWS with. */
  | 'configuration'
  /** Nothing answered at the address (a local server that is not running, a network failure). */
  | 'connection'
  /** The answer was not what a modelstack model sends (e.g. a prediction of the wrong kind). */
  | 'response';

export class EndpointError extends Error {
  constructor(
    readonly kind: EndpointErrorKind,
    message: string,
    /** The HTTP status of the model's answer (kind `model`), or SageMaker's status otherwise. */
    readonly statusCode: number | undefined,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EndpointError';
  }
}

/** How the caller's interface spells the settings an error message tells the user to set. */
export interface SettingNames {
  /** The region setting: `--region` for the CLI. */
  readonly region: string;
  /** The local server's URL setting: `--local` for the CLI. */
  readonly url: string;
  /** That setting with an example value: `--local http://127.0.0.1:8080` for the CLI. */
  readonly urlExample: string;
}

/** The SDK's exceptions (and connection failures) as one EndpointError whose message says what to do. */
export function endpointErrorFrom(error: unknown, endpointName: string, localUrl: string | undefined, names: SettingNames): EndpointError {
  if (error instanceof EndpointError) return error;
  if (error instanceof ModelError) {
    const status = error.OriginalStatusCode;
    return new EndpointError('model', `the model answered ${status ?? 'an error'}: ${messageOf(error.OriginalMessage) ?? error.message}`, status, { cause: error });
  }
  if (error instanceof ModelStreamError) {
    return new EndpointError('model', `the model's stream failed (${error.ErrorCode ?? 'ModelStreamError'}): ${error.message}`, undefined, { cause: error });
  }
  if (error instanceof SageMakerRuntimeServiceException) {
    const status = error.$metadata.httpStatusCode;
    const kind = error.name === 'ValidationError' ? 'validation' : 'unavailable';
    return new EndpointError(kind, `${error.name}: ${error.message}`, status, { cause: error });
  }
  if (localUrl === undefined) {
    const missing = missingAwsConfiguration(error, names);
    if (missing !== undefined) {
      return new EndpointError('configuration', `${missing}\n  (to call a local \`modelstack serve\` instead, add ${names.urlExample})`, undefined, { cause: error });
    }
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') {
    const message = localUrl !== undefined && code === 'ECONNREFUSED'
      ? `nothing is listening at ${localUrl}; start it with \`modelstack serve model.tar.gz --port ${new URL(localUrl).port || 80}\``
      : `invoking ${endpointName} failed: ${code}`;
    return new EndpointError('connection', message, undefined, { cause: error });
  }
  return new EndpointError('connection', `invoking ${endpointName} failed: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error });
}

/**
 * The SDK's words for a machine without AWS configuration ("Could not load credentials from any
 * providers", "Region is missing") say what is wrong but not what to do; say that.
 */
function missingAwsConfiguration(error: unknown, names: SettingNames): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'CredentialsProviderError') {
    return 'no AWS credentials found to call SageMaker with: run `aws configure`, set AWS_PROFILE to a configured profile, '
      + 'or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
  }
  if (error.message === 'Region is missing') {
    return `no AWS region to call SageMaker in: pass ${names.region} (e.g. us-east-1), set AWS_REGION, `
      + 'or set a region in your AWS profile (`aws configure`)';
  }
  return undefined;
}

/** The runtime's JSON error body carries a readable `message`; show that rather than the JSON. */
function messageOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : text;
  } catch {
    return text;
  }
}
