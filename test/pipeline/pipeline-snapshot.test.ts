import { Template } from 'aws-cdk-lib/assertions';
import { expect, it } from 'vitest';
import { assetHashSerializer } from '../helpers/cdk.ts';
import { pipelineStack } from './pipeline-stack.ts';
import { stateMachineDefinition } from './state-machine.ts';

expect.addSnapshotSerializer(assetHashSerializer);

it('synthesizes the same pipeline resources and state machine definitions (asset hashes masked)', () => {
  const { stack } = pipelineStack({ tuning: {} });
  const template = Template.fromStack(stack);
  // Only the pipeline's own resources: the serving constructs have their own snapshot.
  const resources = Object.fromEntries(Object.entries(template.toJSON().Resources as Record<string, unknown>).filter(([id]) => id.startsWith('Pipeline')));
  expect({
    resources,
    trainingPipeline: stateMachineDefinition(template, 'PipelineStateMachine'),
    batchTransform: stateMachineDefinition(template, 'BatchTransformStateMachine'),
  }).toMatchSnapshot();
});
