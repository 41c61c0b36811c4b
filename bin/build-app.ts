import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ModelStack } from '../lib/model-stack.ts';
import { loadAppConfig } from './config.ts';

/**
 * Adds the configured ModelStack to `app` and registers the cdk-nag AwsSolutions checks, so
 * synthesis fails on any finding that is not acknowledged with a reason. The stack is
 * environment-agnostic: synthesis needs no AWS account, region or credentials.
 */
export function buildApp(app: App): ModelStack {
  const config = loadAppConfig((key) => app.node.tryGetContext(key));
  const stack = new ModelStack(app, config.stackName, { settings: config.settings, pipeline: config.pipeline });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
