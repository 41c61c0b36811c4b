/**
 * A construct library must synthesize under the defaults of whatever app uses it: here a bare
 * `new App()`, without cdk.json's recommended feature flags (test/helpers/cdk.ts's testApp
 * passes them; this test does not). The only context given is `aws:cdk:bundling-stacks` (not a
 * feature flag), so the Lambdas are not bundled with esbuild in a unit test.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { EncryptedTopic } from '../../lib/encrypted-topic.ts';
import { InferenceEndpoint } from '../../lib/endpoint/inference-endpoint.ts';
import { ModelExecutionRole } from '../../lib/model-execution-role.ts';
import { ModelStack } from '../../lib/model-stack.ts';
import { ModelStore } from '../../lib/model-store.ts';
import { Monitoring } from '../../lib/monitoring.ts';
import { BatchTransform, TrainingPipeline } from '../../lib/pipeline/index.ts';
import { RuntimeImage } from '../../lib/runtime-image.ts';

const MODEL = 's3://modelstack-models/models/job-1/output/model.tar.gz';

function bareApp(): App {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  // What this test is about: none of cdk.json's flags reached the app.
  expect(app.node.tryGetContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy')).toBeUndefined();
  return app;
}

/** Every construct of lib/index.ts in one stack, each with only its required props. */
function everyConstruct(stack: Stack) {
  const modelStore = new ModelStore(stack, 'Store');
  const image = new RuntimeImage(stack, 'Image', { flavour: 'gpu' });
  const role = new ModelExecutionRole(stack, 'Role', { modelStore, images: [image] });
  const topic = new EncryptedTopic(stack, 'Topic');
  const endpoint = new InferenceEndpoint(stack, 'Endpoint', { modelStore, image, modelDataUrl: MODEL, endpointName: 'churn', modelDigest: 'ab'.repeat(32) });
  endpoint.autoScaleInstanceCount();
  const monitoring = new Monitoring(stack, 'Monitoring', { endpoint });
  const pipeline = new TrainingPipeline(stack, 'Pipeline', { modelStore, image, endpoint, endpointSpec: endpoint.spec, modelRole: endpoint.role.role, namePrefix: 'churn', notificationTopic: topic.topic, batchTransform: false });
  const batch = new BatchTransform(stack, 'Batch', { modelStore, image, notificationTopic: topic.topic, namePrefix: 'scores', modelPackageGroupName: 'churn' });
  return { modelStore, image, role, topic, endpoint, monitoring, pipeline, batch };
}

describe('in a bare App without the recommended feature flags', () => {
  it('synthesizes every construct', () => {
    const stack = new Stack(bareApp(), 'Constructs');
    everyConstruct(stack);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SageMaker::Endpoint', 1);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    // The access-log bucket takes deliveries through its bucket policy, not the LogDeliveryWrite ACL
    // that an ObjectOwnership of BucketOwnerEnforced forbids.
    expect(JSON.stringify(template.findResources('AWS::S3::BucketPolicy'))).toContain('"Principal":{"Service":"logging.s3.amazonaws.com"}');
    expect(JSON.stringify(template.toJSON())).not.toContain('LogDeliveryWrite');
  });

  it.each([
    ['the first deploy (no model)', {}],
    ['a served model with its digest', { modelDataUrl: MODEL, modelDigest: 'cd'.repeat(32), alarmEmail: 'ops@example.com' }],
    ['a serverless endpoint', { modelDataUrl: MODEL, serverless: { memorySizeInMb: 3072 } }],
  ])('synthesizes ModelStack for %s', (_name, settings) => {
    const app = bareApp();
    const stack = new ModelStack(app, 'ModelStack', { settings });
    expect(() => app.synth()).not.toThrow();
    expect(Template.fromStack(stack).findResources('AWS::S3::Bucket')).not.toEqual({});
  });
});
