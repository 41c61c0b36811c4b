/**
 * The SageMaker runtime API's success shape, for `POST /endpoints/<name>/invocations`, so the
 * AWS SDK's SageMakerRuntimeClient pointed at this server behaves as it does against AWS: the
 * model's body and Content-Type, plus `x-amzn-invoked-production-variant` and the custom
 * attributes (InvokedProductionVariant, CustomAttributes in the SDK's output). Its errors are
 * rendered by error-response.ts.
 */
import { randomUUID } from 'node:crypto';

/** The variant name of an endpoint created with a single production variant. */
export const DEFAULT_VARIANT_NAME = 'AllTraffic';

/** The path the SDK's InvokeEndpoint calls, in the route table's notation. */
export const RUNTIME_API_INVOCATIONS_PATH = '/endpoints/:name/invocations';

export function runtimeApiHeaders(variantName: string): Record<string, string> {
  return { 'x-amzn-invoked-production-variant': variantName, 'x-amzn-requestid': randomUUID() };
}
