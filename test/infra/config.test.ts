import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_FILE_CONTEXT_KEY, loadAppConfig, parseAppConfig, SETTINGS_CONTEXT_KEY } from '../../bin/config.ts';

function context(values: Record<string, unknown>): (key: string) => unknown {
  return (key) => values[key];
}

describe('app configuration', () => {
  it('defaults to stack ModelStack with every setting at its default', () => {
    expect(loadAppConfig(context({}))).toEqual({ stackName: 'ModelStack', settings: {}, pipeline: {} });
  });

  it('reads a JSON file named by context, then lets inline context override it key by key', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelstack-config-'));
    fs.writeFileSync(path.join(dir, 'prod.json'), JSON.stringify({ stackName: 'Churn', instanceType: 'ml.g5.2xlarge', autoscaling: { maxCapacity: 8 } }));
    const config = loadAppConfig(context({ [CONFIG_FILE_CONTEXT_KEY]: 'prod.json', [SETTINGS_CONTEXT_KEY]: '{"instanceType":"ml.m5.xlarge"}' }), dir);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(config).toEqual({ stackName: 'Churn', settings: { instanceType: 'ml.m5.xlarge', autoscaling: { maxCapacity: 8 } }, pipeline: {} });
  });

  it('accepts every documented key', () => {
    const settings = {
      endpointName: 'churn-prod',
      modelDataUrl: 's3://bucket-1/models/job/output/model.tar.gz',
      modelDigest: 'ab'.repeat(32),
      instanceType: 'ml.g5.xlarge',
      initialInstanceCount: 2,
      asyncInference: false,
      dataCapturePercent: 20,
      networkIsolation: true,
      vpc: { vpcId: 'vpc-0abc', subnetIds: ['subnet-0abc'], securityGroupIds: ['sg-0abc'] },
      autoscaling: {
        minCapacity: 2,
        maxCapacity: 6,
        targetInvocationsPerInstance: 300,
        scaleInCooldownSeconds: 600,
        scaleOutCooldownSeconds: 30,
        schedules: [{ name: 'night', expression: 'cron(0 22 * * ? *)', minCapacity: 1, maxCapacity: 2, timeZone: 'Europe/Berlin' }],
      },
      canaryPercent: 20,
      canaryWaitMinutes: 10,
      terminationWaitMinutes: 10,
      alarmEmail: 'ops@example.com',
      latencyP99Ms: 500,
      error5xxRatePercent: 0.5,
      error4xxRatePercent: 20,
      gpuMemoryPercent: 85,
      noncurrentVersionExpirationDays: 90,
      removalPolicy: 'destroy',
    };
    expect(parseAppConfig(settings).settings).toEqual(settings);
    expect(parseAppConfig({ autoscaling: false, serverless: { memorySizeInMb: 2048, maxConcurrency: 20, provisionedConcurrency: 2 } }).settings).toEqual({
      autoscaling: false,
      serverless: { memorySizeInMb: 2048, maxConcurrency: 20, provisionedConcurrency: 2 },
    });
  });

  it('reads the training pipeline settings, or false to leave the pipeline out', () => {
    const pipeline = {
      approval: 'automatic',
      instanceType: 'ml.g5.2xlarge',
      instanceCount: 1,
      spot: false,
      maxRuntimeHours: 12,
      hyperparameters: { algorithm: 'mlp', epochs: '30' },
      tuning: { maxJobs: 20, maxParallelJobs: 4 },
      objective: { metric: 'validation_accuracy', goal: 'maximize', threshold: 0.9 },
      schedule: 'rate(7 days)',
      dataTrigger: '_SUCCESS',
      batchTransform: { instanceType: 'ml.m5.xlarge', instanceCount: 3 },
    };
    expect(parseAppConfig({ pipeline }).pipeline).toEqual(pipeline);
    expect(parseAppConfig({ pipeline: false }).pipeline).toBe(false);
    expect(parseAppConfig({ pipeline: { tuning: true, batchTransform: false } }).pipeline).toEqual({ tuning: true, batchTransform: false });
    expect(() => parseAppConfig({ pipeline: { hyperparameters: { epochs: 30 } } })).toThrow(/modelstack\.pipeline\.hyperparameters\.epochs: must be a string/);
    expect(() => parseAppConfig({ pipeline: { objective: { metric: 'accuracy' } } })).toThrow(/modelstack\.pipeline\.objective\.metric: must be one of "epoch", "train_loss"/);
    expect(() => parseAppConfig({ pipeline: { approvl: 'manual' } })).toThrow(/modelstack\.pipeline: unknown key "approvl"/);
  });

  it.each<[unknown, RegExp]>([
    [{ instanceType: 'g5.xlarge' }, /modelstack\.instanceType: must be a SageMaker instance type such as "ml\.g5\.xlarge" or "ml\.m5\.large", got "g5\.xlarge"/],
    [{ initialInstanceCount: '2' }, /modelstack\.initialInstanceCount: must be an integer from 1 to 100, got "2"/],
    [{ autoscaling: { maxCapacity: 500 } }, /modelstack\.autoscaling\.maxCapacity: must be an integer from 1 to 100, got 500/],
    [{ autoscaling: { minCapacity: 4, maxCapacity: 2 } }, /modelstack\.autoscaling\.minCapacity: must be at most maxCapacity \(2\), got 4/],
    [{ autoscaling: true }, /modelstack\.autoscaling: must be an object, or false to turn autoscaling off, got true/],
    [{ autoscaling: { schedules: [{ name: 'x', expression: 'daily' }] } }, /modelstack\.autoscaling\.schedules\[0\]\.expression: must be cron\(\.\.\.\)/],
    [{ serverless: { memorySizeInMb: 1000 } }, /modelstack\.serverless\.memorySizeInMb: must be one of 1024, 2048, 3072, 4096, 5120, 6144, got 1000/],
    [{ dataCapturePercent: 120 }, /modelstack\.dataCapturePercent: must be an integer from 0 to 100, got 120/],
    [{ removalPolicy: 'delete' }, /modelstack\.removalPolicy: must be one of "retain", "destroy", got "delete"/],
    [{ modelDataUrl: 's3://bucket/models/model.onnx' }, /modelstack\.modelDataUrl: must be an S3 URL of a model archive/],
    [{ pipeline: { instanceCount: 2 } }, /modelstack\.pipeline\.instanceCount: must be 1: the runtime trains on one instance .*every extra instance would train the same model on all the data again.*, got 2/],
    [{ modelDigest: 'sha256:ab' }, /modelstack\.modelDigest: must be the model's sealed manifest digest, 64 hex characters/],
    [{ vpc: { subnetIds: ['subnet-0abc'] } }, /modelstack\.vpc\.vpcId: is required/],
    [{ vpc: { vpcId: 'vpc-1', subnetIds: [] } }, /modelstack\.vpc\.subnetIds: must be an array of 1 to 16 subnet IDs/],
    [{ instanceTyp: 'ml.g5.xlarge' }, /modelstack: unknown key "instanceTyp"; allowed keys are stackName, .*instanceType/],
    [{ autoscaling: { max: 3 } }, /modelstack\.autoscaling: unknown key "max"; allowed keys are minCapacity, maxCapacity/],
    [[1, 2], /modelstack: must be a JSON object, got \[1,2\]/],
  ])('rejects %j naming the key and the allowed values', (raw, message) => {
    expect(() => parseAppConfig(raw)).toThrow(message);
  });

  it('reports unreadable files and bad JSON with their source', () => {
    expect(() => loadAppConfig(context({ [CONFIG_FILE_CONTEXT_KEY]: 'missing.json' }), os.tmpdir())).toThrow(/modelstack:config: cannot read .*missing\.json/);
    expect(() => loadAppConfig(context({ [SETTINGS_CONTEXT_KEY]: '{instanceType:' }))).toThrow(/context modelstack: is not valid JSON/);
  });
});
