import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { transform } from 'esbuild';
import { describe, it } from 'vitest';
import * as lib from '../../lib/index.ts';
import { templateOf, testApp } from '../helpers/cdk.ts';

const README = path.resolve(import.meta.dirname, '..', '..', 'README.md');
const MARKER = '<!-- README example: synthesized by test/infra/readme-example.test.ts -->';
const LMI_MARKER = '<!-- README example (LMI): synthesized by test/infra/readme-example.test.ts -->';

/** The modules the example may import, by the specifiers a user writes. */
const MODULES: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  'aws-cdk-lib': cdk,
  'aws-cdk-lib/aws-iam': iam,
  './lib/index.ts': lib,
};

/** The fenced TypeScript block right after `marker` in README.md, exactly as a user copies it. */
function readmeExample(marker: string = MARKER): string {
  const text = fs.readFileSync(README, 'utf8');
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`README.md has lost its marker ${marker}; put it on the line before the construct example`);
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(text.slice(at + marker.length));
  if (block === null) throw new Error('README.md has no ```ts block after the construct example marker');
  return block[1]!;
}

/** Runs the example's code with its imports bound to the real modules and `stack` in scope. */
async function runExample(source: string, stack: cdk.Stack): Promise<void> {
  const bindings = new Map<string, unknown>();
  const body = source.replace(/^import (.+) from '([^']+)';$/gm, (_line, clause: string, specifier: string) => {
    const module = MODULES[specifier];
    if (module === undefined) throw new Error(`the README example imports ${specifier}, which this test does not provide (${Object.keys(MODULES).join(', ')})`);
    const namespace = /^\* as (\w+)$/.exec(clause);
    if (namespace) bindings.set(namespace[1]!, module);
    else for (const name of clause.replace(/[{}\s]/g, '').split(',')) bindings.set(name, module[name]);
    return '';
  });
  for (const [name, value] of bindings) {
    if (value === undefined) throw new Error(`the README example imports ${name}, which its module does not export`);
  }
  const { code } = await transform(body, { loader: 'ts' });
  new Function(...bindings.keys(), 'stack', code)(...bindings.values(), stack);
}

describe('the README construct example', () => {
  it('synthesizes an autoscaling endpoint that rolls back on its p99 latency and 5XX alarms, and an invoke grant', async () => {
    const stack = new cdk.Stack(testApp(), 'Churn');
    await runExample(readmeExample(), stack);
    const template = templateOf(stack);
    template.resourceCountIs('AWS::SageMaker::Endpoint', 1);
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 4, ResourceId: 'endpoint/churn/variant/AllTraffic' });
    const alarmId = (name: string): string => Object.keys(template.findResources('AWS::CloudWatch::Alarm')).find((id) => id.startsWith(`Monitoring${name}`))!;
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: { AutoRollbackConfiguration: { Alarms: [{ AlarmName: { Ref: alarmId('LatencyP99') } }, { AlarmName: { Ref: alarmId('Error5xxRate') } }] } },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^AppRole') }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync', 'sagemaker:InvokeEndpointWithResponseStream'] })] },
    });
  });

  it('synthesizes the LMI example: the region\'s LMI image, 4-way tensor parallel, the store prefix, autoscaling and a streaming invoke grant', async () => {
    const stack = new cdk.Stack(testApp(), 'Llm', { env: { account: '111111111111', region: 'us-west-2' } });
    await runExample(readmeExample(LMI_MARKER), stack);
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: Match.objectLike({
        Image: '763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.36.0-lmi20.0.0-cu128-v1.0',
        Environment: Match.objectLike({ OPTION_ROLLING_BATCH: 'vllm', OPTION_TENSOR_PARALLEL_DEGREE: '4', OPTION_MAX_MODEL_LEN: '8192' }),
        ModelDataSource: { S3DataSource: Match.objectLike({ S3DataType: 'S3Prefix', CompressionType: 'None' }) },
      }),
      EnableNetworkIsolation: true,
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 2, ResourceId: 'endpoint/llm/variant/AllTraffic' });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^LlmApp') }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync', 'sagemaker:InvokeEndpointWithResponseStream'] })] },
    });
  });
});
