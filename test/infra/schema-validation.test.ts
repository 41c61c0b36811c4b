import { Stack } from 'aws-cdk-lib';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../bin/build-app.ts';
import { testApp } from '../helpers/cdk.ts';

// The one test that keeps aws-cdk-lib's built-in CloudFormation schema validation on (about
// 10 s per synth); every other test turns it off. It synthesizes the app exactly as
// `cdk synth` does, cdk-nag plugin included, with every optional part of the endpoint on.
describe('CloudFormation schema validation', () => {
  it('accepts the whole stack (cdk-nag plugin included) and rejects a made-up property', () => {
    const app = testApp({
      schemaValidation: true,
      context: {
        modelstack: {
          modelDataUrl: 's3://modelstack-models/models/job-1/output/model.tar.gz',
          asyncInference: true,
          alarmEmail: 'ops@example.com',
          autoscaling: { schedules: [{ name: 'night', expression: 'cron(0 22 * * ? *)', maxCapacity: 2 }] },
          vpc: { vpcId: 'vpc-0123abcd', subnetIds: ['subnet-0a1b2c3d'] },
        },
      },
    });
    const stack = buildApp(app);
    // Throws ValidationFailed with the report when the schema or cdk-nag finds anything.
    const assembly = app.synth();
    expect(assembly.getStackByName(stack.stackName).template.Resources).toBeDefined();

    // The check is live: the same app settings reject a property SageMaker does not have.
    const control = testApp({ schemaValidation: true });
    const config = new sagemaker.CfnEndpointConfig(new Stack(control, 'Control'), 'Config', {
      productionVariants: [{ variantName: 'AllTraffic', modelName: 'm', instanceType: 'ml.m5.large', initialInstanceCount: 1 }],
    });
    config.addPropertyOverride('KmsKeyIdentifier', 'not-a-property');
    expect(() => control.synth()).toThrow(/KmsKeyIdentifier/);
  });
});
