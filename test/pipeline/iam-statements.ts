/** Reads IAM policy statements back out of a synthesized template, by the role they are attached to. */
import type { Template } from 'aws-cdk-lib/assertions';

export interface IamStatement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

interface PolicyResource {
  readonly Properties: { readonly Roles?: unknown; readonly PolicyDocument: { readonly Statement: IamStatement[] } };
}

/**
 * Every identity policy of the template by logical id: this project's roles keep their
 * statements in customer-managed policies (AWS::IAM::ManagedPolicy), roles of other
 * constructs in inline ones (AWS::IAM::Policy).
 */
export function policiesIn(template: Template): Record<string, PolicyResource> {
  return { ...template.findResources('AWS::IAM::Policy'), ...template.findResources('AWS::IAM::ManagedPolicy') } as Record<string, PolicyResource>;
}

/** Every IAM statement of the policies attached to roles whose logical id contains `role`. */
export function statementsOf(template: Template, role: string): IamStatement[] {
  return Object.values(policiesIn(template))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(role))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

/** The AWS managed policies (`arn:...:iam::aws:policy/...`) a role has; the customer-managed ones of the template are `{Ref}`s. */
export function awsManagedPoliciesOf(role: unknown): unknown[] {
  const arns = (role as { Properties: { ManagedPolicyArns?: unknown[] } }).Properties.ManagedPolicyArns ?? [];
  return arns.filter((arn) => (arn as { Ref?: unknown }).Ref === undefined);
}

export function actionsOf(statement: Pick<IamStatement, 'Action'>): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}
