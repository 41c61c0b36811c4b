/**
 * SageMaker reports "not found" and "already exists" as ValidationException (or
 * ResourceNotFound) with a message; these helpers read them so handlers can be idempotent.
 */

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** DescribeEndpoint / DescribeEndpointConfig on a name that does not exist. */
export function isNotFound(error: unknown): boolean {
  if (errorName(error) === 'ResourceNotFound') return true;
  return errorName(error) === 'ValidationException' && /could not find/i.test(errorMessage(error));
}

/** CreateModel / CreateEndpointConfig on a name that already exists. */
export function isAlreadyExists(error: unknown): boolean {
  if (errorName(error) === 'ResourceInUse') return true;
  return errorName(error) === 'ValidationException' && /already exist/i.test(errorMessage(error));
}
