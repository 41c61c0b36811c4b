import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

export interface CustomerManagedKeyProps {
  /** What the key encrypts, shown in the KMS console. */
  readonly description: string;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A symmetric customer-managed KMS key as every key of this stack is made: yearly rotation, and
 * a key policy that refuses `kms:CreateGrant` unless the grant is for an AWS service acting on
 * the caller's behalf (SageMaker creates such grants for training volumes and endpoint storage).
 * Without that statement any principal the account lets use the key could hand a grant to
 * anyone; it is AWS Control Tower's proactive control CT.KMS.PR.3.
 */
export function customerManagedKey(scope: Construct, id: string, props: CustomerManagedKeyProps): kms.Key {
  const key = new kms.Key(scope, id, {
    description: props.description,
    enableKeyRotation: true,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyGrantsExceptForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }),
  );
  return key;
}
