import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/**
 * Estimated characters of policy document per managed policy. IAM allows 6,144 (whitespace
 * excluded); statements are measured with their references unresolved (`{"Ref": ...}` is
 * shorter than the ARN it becomes), so the budget leaves room for the expansion.
 */
const POLICY_BUDGET = 4000;

/**
 * An IAM role whose permissions live in customer-managed policies attached to it (children of
 * the role, `Policy`, `Policy2`, ...) instead of an inline default policy. Every
 * `addToPrincipalPolicy`, and so every `grant*` that targets the role, lands there: managed
 * policies are versioned (a change can be rolled back and audited as its own resource), which is
 * what HIPAA, NIST 800-53 and PCI DSS checks mean by "no inline policies".
 */
export class ManagedPolicyRole extends iam.Role {
  private readonly attached: iam.ManagedPolicy[] = [];
  private used = 0;

  constructor(scope: Construct, id: string, props: iam.RoleProps) {
    super(scope, id, props);
  }

  /** The customer-managed policies holding the role's statements (in the order they filled). */
  get policies(): ReadonlyArray<iam.ManagedPolicy> {
    return this.attached;
  }

  override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    const size = JSON.stringify(Stack.of(this).resolve(statement.toStatementJson())).length;
    let policy = this.attached.at(-1);
    if (policy === undefined || this.used + size > POLICY_BUDGET) {
      policy = new iam.ManagedPolicy(this, this.attached.length === 0 ? 'Policy' : `Policy${this.attached.length + 1}`, {
        description: `modelstack: permissions of ${this.node.path}`,
        roles: [this],
      });
      this.attached.push(policy);
      this.used = 0;
    }
    policy.addStatements(statement);
    this.used += size;
    return { statementAdded: true, policyDependable: policy };
  }
}
