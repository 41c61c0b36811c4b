/** Reads IAM policy statements back out of a synthesized template, by the role they are attached to. */
import type { Template } from 'aws-cdk-lib/assertions';

export interface IamStatement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** Every IAM statement of the policies attached to roles whose logical id contains `role`. */
export function statementsOf(template: Template, role: string): IamStatement[] {
  return Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([, policy]) => JSON.stringify((policy as { Properties: { Roles: unknown } }).Properties.Roles).includes(role))
    .flatMap(([, policy]) => (policy as { Properties: { PolicyDocument: { Statement: IamStatement[] } } }).Properties.PolicyDocument.Statement);
}

export function actionsOf(statement: Pick<IamStatement, 'Action'>): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}
