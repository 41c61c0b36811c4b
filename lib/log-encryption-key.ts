import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { customerManagedKey } from './customer-managed-key.ts';

/**
 * A customer-managed key for CloudWatch Logs log groups (Lambda steps, Step Functions
 * executions, whose logs hold execution inputs). CloudWatch Logs encrypts and decrypts with it
 * as its regional service principal, and only for log groups of this account and region (the
 * encryption context names the group): the groups cannot be named in the key policy, since each
 * log group refers to the key.
 */
export function logEncryptionKey(scope: Construct, id: string, description: string): kms.Key {
  const stack = Stack.of(scope);
  const key = customerManagedKey(scope, id, { description });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchLogsOfThisAccount',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }),
  );
  return key;
}
