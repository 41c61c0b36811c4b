/**
 * `cdk synth` checks the stack with every cdk-nag pack the compliance tests run (bin/build-app.ts's
 * NAG_PACKS): a finding that is not acknowledged stops synthesis with the report, as the tests
 * fail on it. test/infra/compliance.test.ts checks that the configurations synthesize clean; here a
 * deliberately non-compliant change (a Lambda function with cdk's defaults: AWS managed policy,
 * no dead-letter queue, no tracing, outside a VPC) is added to the app and synthesis refuses it,
 * naming a rule of each pack.
 */
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { buildApp, NAG_PACKS } from '../../bin/build-app.ts';
import { testApp } from '../helpers/cdk.ts';

describe('cdk synth with the cdk-nag packs', () => {
  it('registers AwsSolutions, HIPAA Security, NIST 800-53 rev 5, PCI DSS 3.2.1 and Serverless', () => {
    expect(NAG_PACKS.map((Pack) => new Pack().readPackName)).toEqual(['AwsSolutions', 'HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321', 'Serverless']);
  });

  it('stops synthesis on a finding of each pack, naming the rule and the resource', () => {
    const app = testApp({ context: { modelstack: {} } });
    const stack = buildApp(app);
    new lambda.Function(stack, 'Unchecked', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => 1;') });
    let message = '';
    try {
      app.synth();
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    expect(message).toContain('ModelStack/Unchecked');
    for (const rule of ['AwsSolutions-IAM4', 'HIPAA.Security-LambdaDLQ', 'NIST.800.53.R5-LambdaDLQ', 'PCI.DSS.321-LambdaInsideVPC', 'Serverless-LambdaDLQ']) {
      expect(message, rule).toContain(rule);
    }
  });
});
