import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { ModelStore } from '../../lib/model-store.ts';
import { logicalIdOf, templateOf, testApp } from '../helpers/cdk.ts';

function storeStack(props: ConstructorParameters<typeof ModelStore>[2] = {}) {
  const stack = new Stack(testApp(), 'Store');
  const store = new ModelStore(stack, 'Store', props);
  return { stack, store };
}

describe('ModelStore', () => {
  const { stack, store } = storeStack({ noncurrentVersionExpirationDays: 45 });
  const template = templateOf(stack);
  const bucketId = stack.resolve((store.bucket.node.defaultChild as iam.CfnRole).logicalId) as string;
  const logsId = stack.resolve((store.accessLogsBucket.node.defaultChild as iam.CfnRole).logicalId) as string;

  it('encrypts with its own customer-managed key, which rotates', () => {
    const keyId = logicalIdOf(store.key);
    expect(template.findResources('AWS::KMS::Key')[keyId]?.Properties.EnableKeyRotation).toBe(true);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] } }, BucketKeyEnabled: true },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  it('blocks public access and denies any request without TLS, on both buckets', () => {
    for (const id of [bucketId, logsId]) {
      expect(template.findResources('AWS::S3::Bucket')[id]?.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('logs access to a separate SSE-S3 bucket (S3 cannot deliver logs to a KMS bucket)', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'model-store/' },
    });
    expect(template.findResources('AWS::S3::Bucket')[logsId]?.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  it('expires noncurrent versions after the configured days and aborts stale multipart uploads', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            NoncurrentVersionExpiration: { NoncurrentDays: 45 },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
            Status: 'Enabled',
          }),
        ],
      },
    });
  });

  it('keeps the data when the stack is deleted, unless told otherwise', () => {
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
  });

  it('documents its prefixes', () => {
    expect([store.dataPrefix, store.modelsPrefix, store.checkpointsPrefix, store.capturePrefix]).toEqual(['data/', 'models/', 'checkpoints/', 'capture/']);
  });

  it('grants read on one prefix, with decrypt on the key', () => {
    const { stack: s, store: st } = storeStack();
    const role = new iam.Role(s, 'Reader', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
    st.grantRead(role, st.modelsPrefix);
    const policy = JSON.stringify(templateOf(s).findResources('AWS::IAM::Policy'));
    expect(policy).toContain('/models/*');
    expect(policy).toContain('kms:Decrypt');
    expect(policy).not.toContain('s3:PutObject');
  });

  it('grants write on one prefix, with encrypt on the key', () => {
    const { stack: s, store: st } = storeStack();
    const role = new iam.Role(s, 'Writer', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
    st.grantWrite(role, st.capturePrefix);
    const policy = JSON.stringify(templateOf(s).findResources('AWS::IAM::Policy'));
    expect(policy).toContain('/capture/*');
    expect(policy).toContain('s3:PutObject');
    expect(policy).toContain('kms:GenerateDataKey*');
    expect(policy).not.toContain('s3:GetObject');
  });

  it.each([
    [{ noncurrentVersionExpirationDays: 0 }, /ModelStore\.noncurrentVersionExpirationDays: must be an integer from 1 to 3650, got 0/],
    [{ abortIncompleteMultipartUploadAfterDays: 1.5 }, /ModelStore\.abortIncompleteMultipartUploadAfterDays: must be an integer from 1 to 365/],
    [{ accessLogsExpirationDays: 5000 }, /ModelStore\.accessLogsExpirationDays: must be an integer from 1 to 3650, got 5000/],
  ])('rejects %o naming the prop', (props, message) => {
    expect(() => storeStack(props)).toThrow(message);
  });
});
