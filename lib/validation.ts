import { Token } from 'aws-cdk-lib';

/**
 * Synth-time checks for construct props. Every message names the prop (as `Construct.prop`)
 * and the allowed range, so a user can fix the value without reading the source.
 * Values that are still CloudFormation tokens cannot be checked at synth and are let through.
 */

/** Thrown when a prop is outside its allowed range; the message names the prop. */
export class PropValidationError extends Error {
  constructor(
    readonly prop: string,
    message: string,
  ) {
    super(`${prop}: ${message}`);
    this.name = 'PropValidationError';
  }
}

/** `value` must be an integer in [min, max]. */
export function requireIntegerInRange(prop: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new PropValidationError(prop, `must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** `value` must be a finite number in [min, max]. */
export function requireNumberInRange(prop: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new PropValidationError(prop, `must be a number from ${min} to ${max}, got ${value}`);
  }
}

/** `value` must match `pattern`; `expected` says in words what would be right. */
export function requireMatch(prop: string, value: string | undefined, pattern: RegExp, expected: string): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!pattern.test(value)) {
    throw new PropValidationError(prop, `must be ${expected}, got ${JSON.stringify(value)}`);
  }
}
