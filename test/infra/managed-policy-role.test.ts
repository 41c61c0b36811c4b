import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { ManagedPolicyRole } from '../../lib/managed-policy-role.ts';
import { testApp } from '../helpers/cdk.ts';

describe('ManagedPolicyRole', () => {
  it('keeps grants in customer-managed policies attached to the role, never an inline one, and starts another policy before one grows past the IAM size limit', () => {
    const stack = new Stack(testApp(), 'Roles');
    const role = new ManagedPolicyRole(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    for (let index = 0; index < 60; index += 1) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`arn:aws:s3:::bucket-number-${index}-with-a-long-name/some/prefix/*`] }));
    }
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::Policy', 0);
    const policies = template.findResources('AWS::IAM::ManagedPolicy');
    expect(Object.keys(policies).length).toBe(role.policies.length);
    expect(role.policies.length).toBeGreaterThan(1);
    for (const policy of Object.values(policies)) {
      // IAM's limit for a managed policy document: 6,144 characters without whitespace.
      expect(JSON.stringify(policy.Properties.PolicyDocument).length).toBeLessThan(6144);
      expect(policy.Properties.Roles).toEqual([{ Ref: expect.stringMatching(/^Role/) }]);
    }
    const statements = Object.values(policies).flatMap((policy) => policy.Properties.PolicyDocument.Statement as unknown[]);
    expect(JSON.stringify(statements).match(/bucket-number-/g)).toHaveLength(60);
  });
});
