import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The cdk-nag compliance packs this project is checked against (test/infra/compliance.test.ts)
 * and, for each rule a construct acknowledges, the packs that carry it: an acknowledgement is
 * recorded under exactly the rule ids those packs report, so one reason covers one finding
 * wherever it is reported.
 */
const RULE_PACKS = {
  CloudWatchLogGroupEncrypted: ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'],
  EventBusDLQ: ['Serverless'],
  IAMNoInlinePolicy: ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'],
  LambdaConcurrency: ['HIPAA.Security', 'NIST.800.53.R5'],
  LambdaDLQ: ['HIPAA.Security', 'NIST.800.53.R5', 'Serverless'],
  LambdaInsideVPC: ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'],
  S3BucketReplicationEnabled: ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'],
  S3DefaultEncryptionKMS: ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'],
  SageMakerEndpointConfigurationKMSKeyConfigured: ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'],
  SNSRedrivePolicy: ['Serverless'],
  SQSQueueDLQ: ['AwsSolutions'],
  SQSRedrivePolicy: ['Serverless'],
} as const satisfies Record<string, ReadonlyArray<string>>;

export type ComplianceRule = keyof typeof RULE_PACKS;

/** AwsSolutions names some rules by a short id rather than by the rule's name. */
const AWS_SOLUTIONS_IDS: Partial<Record<ComplianceRule, string>> = { SQSQueueDLQ: 'SQS3' };

/** Acknowledges `rule` on `scope` (and everything under it) in every pack that reports it, with one reason. */
export function acknowledgeRule(scope: IConstruct, rule: ComplianceRule, reason: string): void {
  Validations.of(scope).acknowledge(
    ...RULE_PACKS[rule].map((pack) => ({ id: `${pack}-${pack === 'AwsSolutions' ? (AWS_SOLUTIONS_IDS[rule] ?? rule) : rule}`, reason })),
  );
}
