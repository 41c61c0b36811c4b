/**
 * The handlers' SDK clients retry throttling themselves before Step Functions has to: checked
 * with the real SDK talking HTTP to a loopback server that plays a throttling SageMaker.
 */
import { RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { DescribeTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createApplicationAutoScalingClient, createSageMakerClient } from '../../lambda/shared/aws-clients.ts';

let server: Server | undefined;

afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** Answers the first `throttled` requests with SageMaker's 400 ThrottlingException, then succeeds. */
async function throttlingSageMaker(throttled: number): Promise<{ endpoint: string; targets: string[] }> {
  const targets: string[] = [];
  server = createServer((request, response) => {
    targets.push(String(request.headers['x-amz-target']));
    request.resume();
    request.on('end', () => {
      if (targets.length <= throttled) {
        response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'ThrottlingException' });
        response.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ TrainingJobName: 'ms-job', TrainingJobStatus: 'Completed' }));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, targets };
}

describe('SDK clients', () => {
  it('retry a throttled SageMaker call until it succeeds', async () => {
    const { endpoint, targets } = await throttlingSageMaker(2);
    const client = createSageMakerClient({ endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

    const job = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: 'ms-job' }));

    expect(job.TrainingJobStatus).toBe('Completed');
    expect(targets).toEqual(Array(3).fill('SageMaker.DescribeTrainingJob'));
  });

  it('retry a throttled Application Auto Scaling call until it succeeds', async () => {
    const { endpoint, targets } = await throttlingSageMaker(2);
    const client = createApplicationAutoScalingClient({ endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

    await client.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'sagemaker', ResourceId: 'endpoint/churn/variant/AllTraffic', ScalableDimension: 'sagemaker:variant:DesiredInstanceCount', MinCapacity: 1, MaxCapacity: 4 }));

    expect(targets).toEqual(Array(3).fill('AnyScaleFrontendService.RegisterScalableTarget'));
  });
});
