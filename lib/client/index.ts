/**
 * `modelstack/client`: what an application needs to call a modelstack endpoint. Kept apart from
 * the CDK constructs (lib/index.ts) so an application bundles the SageMaker runtime client alone.
 */
export * from './endpoint-client.ts';
export * from './endpoint-error.ts';
export type { FeatureRow, RequestFormat } from './request-body.ts';
export { linesOf, tokenText } from './token-stream.ts';
