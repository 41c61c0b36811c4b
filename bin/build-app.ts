import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks } from 'cdk-nag';
import { ModelStack } from '../lib/model-stack.ts';
import { loadAppConfig } from './config.ts';

/**
 * The cdk-nag packs synthesis checks: AwsSolutions, and the four an auditor asks for (HIPAA
 * Security, NIST 800-53 rev 5, PCI DSS 3.2.1, Serverless), the same ones
 * test/infra/compliance.test.ts runs, so a user's `cdk synth` fails on a finding as the tests do.
 */
export const NAG_PACKS = [AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks] as const;

/**
 * Adds the configured ModelStack to `app` and registers the cdk-nag packs (NAG_PACKS) as
 * validation plugins, so synthesis fails on any finding that is not acknowledged with a reason.
 * The stack is environment-agnostic: synthesis needs no AWS account, region or credentials.
 */
export function buildApp(app: App): ModelStack {
  const config = loadAppConfig((key) => app.node.tryGetContext(key));
  const stack = new ModelStack(app, config.stackName, { settings: config.settings, pipeline: config.pipeline });
  Validations.of(app).addPlugins(...NAG_PACKS.map((Pack) => new Pack()));
  return stack;
}
