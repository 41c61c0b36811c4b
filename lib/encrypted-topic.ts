import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { acknowledgeRule } from './compliance-findings.ts';
import { customerManagedKey } from './customer-managed-key.ts';
import { requireMatch } from './validation.ts';

export interface EncryptedTopicProps {
  /**
   * The key that encrypts messages at rest.
   * @default a new customer-managed key with rotation, usable by CloudWatch alarms
   */
  readonly masterKey?: kms.IKey;

  /**
   * An e-mail address to subscribe (the recipient must confirm the subscription).
   * @default no subscription
   */
  readonly email?: string;

  /**
   * Shown in e-mail notifications as the sender.
   * @default no display name
   */
  readonly displayName?: string;
}

/**
 * An SNS topic that is encrypted with a customer-managed KMS key and accepts only TLS
 * requests. CloudWatch alarms can publish to it: SNS needs the publisher to be allowed to use
 * the key, so the default key lets the CloudWatch service principal encrypt with it.
 */
export class EncryptedTopic extends Construct {
  readonly topic: sns.Topic;
  readonly masterKey: kms.IKey;

  constructor(scope: Construct, id: string, props: EncryptedTopicProps = {}) {
    super(scope, id);
    requireMatch('EncryptedTopic.email', props.email, /^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an e-mail address like "ops@example.com"');
    this.masterKey = props.masterKey ?? EncryptedTopic.createKey(this, 'Key');
    this.topic = new sns.Topic(this, 'Topic', {
      masterKey: this.masterKey,
      enforceSSL: true,
      displayName: props.displayName,
    });
    if (props.email !== undefined) {
      const subscription = this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
      acknowledgeRule(
        subscription,
        'SNSRedrivePolicy',
        'An e-mail subscription delivers alarm and pipeline notices whose state CloudWatch and Step Functions keep themselves; a dead-letter queue of undelivered e-mails would be a second inbox nobody reads, and SNS reports bounced deliveries in its own delivery-status metrics.',
      );
    }
  }

  /** A key for notification topics: rotation on, and CloudWatch alarms may encrypt with it. */
  static createKey(scope: Construct, id: string): kms.Key {
    const key = customerManagedKey(scope, id, {
      description: 'modelstack notifications: SNS topics for alarms and asynchronous inference',
    });
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    return key;
  }
}
