/**
 * A stack with the serving constructs the pipeline builds on (store, image, endpoint, topic)
 * and a TrainingPipeline over them, as the app composes them.
 */
import { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { EncryptedTopic } from '../../lib/encrypted-topic.ts';
import { InferenceEndpoint } from '../../lib/endpoint/inference-endpoint.ts';
import { ModelStore } from '../../lib/model-store.ts';
import { TrainingPipeline, type TrainingPipelineProps } from '../../lib/pipeline/index.ts';
import { RuntimeImage } from '../../lib/runtime-image.ts';
import { testApp, type TestAppOptions } from '../helpers/cdk.ts';

export type PipelineOverrides = Partial<Omit<TrainingPipelineProps, 'modelStore' | 'image' | 'endpoint' | 'endpointSpec' | 'modelRole' | 'notificationTopic'>>;

/** `withVpc` adds a VPC to the stack and runs training jobs and models in it. */
export function pipelineStack(overrides: PipelineOverrides = {}, appOptions: TestAppOptions = {}, withVpc = false) {
  const app = testApp(appOptions);
  const stack = new Stack(app, 'Pipeline');
  const modelStore = new ModelStore(stack, 'Store');
  const image = new RuntimeImage(stack, 'Image', { flavour: 'gpu' });
  const endpoint = new InferenceEndpoint(stack, 'Endpoint', {
    modelStore,
    image,
    modelDataUrl: modelStore.urlForObject('models/initial/model.tar.gz'),
    endpointName: 'churn-endpoint',
  });
  const notifications = new EncryptedTopic(stack, 'Notifications');
  const latencyAlarm = new cloudwatch.Alarm(stack, 'LatencyAlarm', {
    metric: new cloudwatch.Metric({ namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensionsMap: { EndpointName: 'churn-endpoint', VariantName: 'AllTraffic' } }),
    threshold: 1_000_000,
    evaluationPeriods: 1,
  });
  const pipeline = new TrainingPipeline(stack, 'Pipeline', {
    modelStore,
    image,
    endpoint,
    endpointSpec: endpoint.spec,
    modelRole: endpoint.role.role,
    notificationTopic: notifications.topic,
    namePrefix: 'churn',
    ...(withVpc ? { vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 }) } : {}),
    ...overrides,
  });
  // Added after the pipeline exists: the deploy step's spec is serialised at synth, so it rolls back on it too.
  endpoint.addRollbackAlarm(latencyAlarm);
  return { app, stack, modelStore, image, endpoint, topic: notifications.topic, pipeline };
}
