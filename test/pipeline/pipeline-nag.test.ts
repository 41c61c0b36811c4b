import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { pipelineStack, type PipelineOverrides } from './pipeline-stack.ts';

/** Unacknowledged AwsSolutions findings on the pipeline's own resources, as `rule at path`. */
function findings(overrides: PipelineOverrides, withVpc = false): string[] {
  const { app, stack } = pipelineStack(overrides, {}, withVpc);
  app.synth();
  const report = new AwsSolutionsChecks(app).validateScope(stack);
  return report.violations.flatMap((violation) =>
    violation.violatingResources
      .map((resource) => `${violation.ruleName} at ${(resource as { constructPath?: string }).constructPath ?? resource.resourceLogicalId}`)
      // The serving constructs and the test's VPC are checked by their own tests.
      .filter((line) => line.includes(' at Pipeline/Pipeline/')),
  );
}

describe('cdk-nag AwsSolutions on the pipeline', () => {
  it('finds nothing unacknowledged in the default pipeline (manual approval, batch transform)', () => {
    expect(findings({})).toEqual([]);
  });

  it('finds nothing unacknowledged with tuning, automatic approval and a VPC', () => {
    expect(findings({ tuning: {}, approval: 'automatic' }, true)).toEqual([]);
  });

  it('would report an unacknowledged wildcard: the check is live', () => {
    const { app, stack, pipeline } = pipelineStack({});
    pipeline.functions.prepare.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sagemaker:Describe*'], resources: ['arn:aws:sagemaker:eu-west-1:111122223333:training-job/x'] }),
    );
    app.synth();
    const report = new AwsSolutionsChecks(app).validateScope(stack);
    expect(JSON.stringify(report.violations)).toContain('AwsSolutions-IAM5[Action::sagemaker:Describe*]');
  });
});
