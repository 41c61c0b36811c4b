import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { EndpointMetrics, InferenceEndpoint, ModelStore, Monitoring, RuntimeImage } from '../../lib/index.ts';
import { templateOf, testApp } from '../helpers/cdk.ts';

// The README's "Using the constructs in your own app" example, line for line (between the markers),
// so the example a user pastes is known to synthesize.
function readmeExample(stack: Stack): InferenceEndpoint {
  // README example: begin
  const store = new ModelStore(stack, 'Store', { noncurrentVersionExpirationDays: 30 });
  const image = new RuntimeImage(stack, 'Image', { flavour: 'cpu' });
  const monitoring = new Monitoring(stack, 'Monitoring', {
    metrics: new EndpointMetrics('churn', 'AllTraffic'),
    alarmEmail: 'ops@example.com',
    latencyP99Threshold: Duration.millis(200),
  });
  const endpoint = new InferenceEndpoint(stack, 'Endpoint', {
    modelStore: store,
    image,
    endpointName: 'churn',
    modelDataUrl: store.bucket.s3UrlForObject('models/churn-1/output/model.tar.gz'),
    instanceType: 'ml.m5.large',
    rollbackAlarms: monitoring.rollbackAlarms,
  });
  endpoint.autoScaleInstanceCount({ minCapacity: 1, maxCapacity: 4, targetInvocationsPerInstance: 200 });
  const app = new iam.Role(stack, 'AppRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  endpoint.grantInvoke(app);
  // README example: end
  return endpoint;
}

describe('the README construct example', () => {
  it('synthesizes an autoscaling endpoint with rollback alarms and an invoke grant', () => {
    const stack = new Stack(testApp(), 'Churn');
    readmeExample(stack);
    const template = templateOf(stack);
    template.resourceCountIs('AWS::SageMaker::Endpoint', 1);
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 1);
    const endpoint = Object.values(template.findResources('AWS::SageMaker::Endpoint'))[0] as { Properties: { DeploymentConfig: { AutoRollbackConfiguration: { Alarms: unknown[] } } } };
    expect(endpoint.Properties.DeploymentConfig.AutoRollbackConfiguration.Alarms.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).toContain('sagemaker:InvokeEndpoint');
  });
});
