import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag (AwsSolutions) findings this pipeline acknowledges, each with the reason that applies
 * to it. A wildcard finding's id names the resource as cdk-nag prints it: CloudFormation
 * references flattened to `<LogicalId.Attr>` / `<AWS::Region>`; `resourceFinding` builds that
 * from the same ARN the policy uses, so the acknowledgement follows renames and environments.
 */
export interface NagFinding {
  /** e.g. `IAM5[Resource::*]` or `IAM5[Action::s3:GetObject*]`. */
  readonly finding: string;
  readonly reason: string;
}

/** The IAM5 finding id for a wildcard resource ARN (token or literal). */
export function resourceFinding(scope: IConstruct, arn: string): string {
  return `IAM5[Resource::${flatten(Stack.of(scope).resolve(arn))}]`;
}

export function actionFinding(action: string): string {
  return `IAM5[Action::${action}]`;
}

export function acknowledge(scope: IConstruct, findings: ReadonlyArray<NagFinding>): void {
  Validations.of(scope).acknowledge(...findings.map(({ finding, reason }) => ({ id: `AwsSolutions-${finding}`, reason })));
}

/** The flattening cdk-nag applies to intrinsic functions before it names a finding. */
function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const value = node as Record<string, unknown>;
  if (value['Fn::Join']) {
    const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (value['Fn::Sub']) return flatten(value['Fn::Sub']);
  if (value['Fn::GetAtt']) {
    const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (value.Ref) return `<${flatten(value.Ref)}>`;
  return JSON.stringify(node);
}

/** Reasons shared by several roles. */
export const COMMON_REASONS = {
  xray: 'X-Ray tracing (PutTraceSegments, PutTelemetryRecords) has no resource-level permissions.',
  bucketRead: 'Bucket.grantRead: GetObject*/GetBucket*/List* on the model store, limited to one prefix of it.',
  bucketWrite: 'Bucket.grantWrite: Abort*/DeleteObject* and KMS GenerateDataKey*/ReEncrypt* with the store key, limited to one prefix of the store.',
} as const;
