import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { pipelineStack } from './pipeline-stack.ts';
import { awsManagedPoliciesOf, policiesIn } from './iam-statements.ts';
import { stateMachineDefinition } from './state-machine.ts';

describe('BatchTransform', () => {
  const { stack, pipeline } = pipelineStack({ batchTransform: { instanceCount: 4 } });
  const template = Template.fromStack(stack);
  const states = stateMachineDefinition(template, 'BatchTransformStateMachine').States;

  it('splits the input prefix line by line into mini-batches across the instances, with the runtime image\'s model', () => {
    const transform = states.Transform!;
    expect(transform.Resource).toBe('arn:${AWS::Partition}:states:::sagemaker:createTransformJob.sync');
    expect(transform.Parameters).toMatchObject({
      'TransformJobName.$': '$.names.jobName',
      'ModelName.$': '$.names.modelName',
      BatchStrategy: 'MultiRecord',
      MaxPayloadInMB: 6,
      TransformInput: { SplitType: 'Line', ContentType: 'text/csv', DataSource: { S3DataSource: { S3DataType: 'S3Prefix' } } },
      TransformResources: { InstanceType: 'ml.g5.xlarge', InstanceCount: 4 },
    });
    expect(JSON.stringify(transform.Parameters!.TransformInput)).toContain("States.Format('s3://${StoreBucket");
  });

  it('tells the model container the package\'s registered digest, so a replaced archive is refused', () => {
    expect(states['Describe package']!.ResultSelector).toMatchObject({ 'manifestDigest.$': "$.CustomerMetadataProperties['manifest-digest']" });
    expect(states['Create model']!.Parameters).toMatchObject({
      PrimaryContainer: { Environment: { 'MODEL_RUNTIME_EXPECTED_DIGEST.$': '$.packageDetails.manifestDigest' } },
    });
  });

  it('writes KMS-encrypted predictions under predictions/<job>/ in the store', () => {
    expect(states.Transform!.Parameters!.TransformOutput).toMatchObject({
      KmsKeyId: expect.stringMatching(/^\$\{StoreKey.*\.Arn\}$/),
      AssembleWith: 'Line',
      'S3OutputPath.$': expect.stringContaining('/predictions/{}/'),
    });
    expect(pipeline.batchTransform!.outputPrefix).toBe('predictions/');
  });

  it('scores only data under data/ with an Approved package (the latest one unless given)', () => {
    expect(JSON.stringify(states['Input under data prefix?']!.Choices)).toContain('"StringMatches":"data/*"');
    expect(states['Input under data prefix?']!.Default).toBe('Input outside data prefix');
    expect(states['Find latest approved package']!.Parameters).toMatchObject({ ModelPackageGroupName: 'churn', ModelApprovalStatus: 'Approved', SortOrder: 'Descending', MaxResults: 1 });
    expect(states['Package approved?']!.Default).toBe('Package not approved');
    for (const name of ['Find latest approved package', 'Describe package', 'Transform']) {
      expect(states[name]!.Catch).toContainEqual({ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Notify failure' });
    }
    expect(states['Notify completed']!.Next).toBe('Completed');
  });

  it('runs the model as its own role: read models/ and data/, write predictions/, no managed policies', () => {
    const [roleId, role] = Object.entries(template.findResources('AWS::IAM::Role')).find(([id]) => id.startsWith('PipelineBatchTransformModelRole'))!;
    expect(awsManagedPoliciesOf(role)).toEqual([]);
    const policy = Object.values(policiesIn(template)).find((candidate) => JSON.stringify(candidate).includes(`"Ref":"${roleId}"`));
    const statements = (policy as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }).Properties.PolicyDocument.Statement;
    const resourcesFor = (action: string): string => JSON.stringify(statements.filter((statement) => [statement.Action].flat().includes(action)).map((statement) => statement.Resource));
    expect(resourcesFor('s3:GetObject*')).toContain('/data/*');
    expect(resourcesFor('s3:GetObject*')).toContain('/models/*');
    expect(resourcesFor('s3:PutObject')).toContain('/predictions/*');
    expect(resourcesFor('s3:PutObject')).not.toContain('/models/*');
    const passRole = JSON.stringify(stateMachineRolePassRole());
    expect(passRole).toContain(roleId);
  });

  function stateMachineRolePassRole(): unknown[] {
    return Object.entries(policiesIn(template))
      .filter(([id]) => id.startsWith('PipelineBatchTransformStateMachineRole'))
      .flatMap(([, policy]) => (policy as { Properties: { PolicyDocument: { Statement: Array<{ Action: unknown }> } } }).Properties.PolicyDocument.Statement)
      .filter((statement) => statement.Action === 'iam:PassRole');
  }

  it('can be left out', () => {
    const { pipeline: without } = pipelineStack({ batchTransform: false });
    expect(without.batchTransform).toBeUndefined();
  });

  it('rejects an output prefix that would overwrite data or models', () => {
    expect(() => pipelineStack({ batchTransform: { outputPrefix: 'models/' } })).toThrow(/BatchTransform\.outputPrefix: must be one folder name ending in "\/" other than data\/ and models\//);
  });
});

