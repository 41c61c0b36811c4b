import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { acknowledgeRule } from './compliance-findings.ts';
import { customerManagedKey } from './customer-managed-key.ts';
import { requireIntegerInRange } from './validation.ts';

export interface ModelStoreProps {
  /**
   * Days after which a noncurrent (overwritten or deleted) object version is removed.
   * Versioning keeps every model artifact recoverable for this long.
   * @default 30 (allowed 1 to 3650)
   */
  readonly noncurrentVersionExpirationDays?: number;

  /**
   * Days after which an incomplete multipart upload is aborted and its parts deleted.
   * @default 7 (allowed 1 to 365)
   */
  readonly abortIncompleteMultipartUploadAfterDays?: number;

  /**
   * Days server access logs are kept in the log bucket.
   * @default 365 (allowed 1 to 3650)
   */
  readonly accessLogsExpirationDays?: number;

  /**
   * What happens to the buckets and the key when the stack is deleted. The buckets must be
   * empty for `DESTROY` to succeed; model artifacts are never deleted implicitly.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The encrypted S3 store for everything a model's life produces, one prefix per kind:
 *
 * - `data/`        training and validation data (a new object here may trigger training)
 * - `models/`      sealed model artifacts (`model.tar.gz` with MANIFEST.json inside)
 * - `checkpoints/` training checkpoints, synced from `/opt/ml/checkpoints` (managed spot resume)
 * - `capture/`     endpoint data capture: the requests and responses SageMaker records
 * - `inference/`   asynchronous inference results
 *
 * The bucket is encrypted with a customer-managed KMS key that rotates yearly, versioned,
 * reachable only over TLS, never public, and logs every access to a separate, versioned SSE-S3
 * bucket (S3 server access logging delivers only to SSE-S3 destinations). Both buckets publish
 * their object events to EventBridge, so a rule can watch e.g. deletions of access logs.
 */
export class ModelStore extends Construct {
  /** Training and validation data. */
  readonly dataPrefix = 'data/';
  /** Sealed model artifacts. */
  readonly modelsPrefix = 'models/';
  /** Training checkpoints. */
  readonly checkpointsPrefix = 'checkpoints/';
  /** Endpoint data capture (requests and responses). */
  readonly capturePrefix = 'capture/';
  /** Asynchronous inference results. */
  readonly inferencePrefix = 'inference/';

  /** The customer-managed key that encrypts the bucket (rotation on). */
  readonly key: kms.Key;
  /** The model bucket. */
  readonly bucket: s3.Bucket;
  /** The SSE-S3 bucket that receives the model bucket's server access logs. */
  readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ModelStoreProps = {}) {
    super(scope, id);
    // Server access logs reach the log bucket through its bucket policy (logging.s3.amazonaws.com,
    // scoped to the model bucket and account). Without this flag, which cdk.json sets but an
    // app's defaults do not, aws-cdk-lib grants them through the LogDeliveryWrite ACL instead,
    // and an ACL cannot be set on a bucket whose ObjectOwnership is BucketOwnerEnforced: the
    // construct would throw in any app created without the recommended flags. Set on this
    // construct before it has children, so it applies to its buckets only.
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const noncurrentDays = props.noncurrentVersionExpirationDays ?? 30;
    const abortDays = props.abortIncompleteMultipartUploadAfterDays ?? 7;
    const logDays = props.accessLogsExpirationDays ?? 365;
    requireIntegerInRange('ModelStore.noncurrentVersionExpirationDays', noncurrentDays, 1, 3650);
    requireIntegerInRange('ModelStore.abortIncompleteMultipartUploadAfterDays', abortDays, 1, 365);
    requireIntegerInRange('ModelStore.accessLogsExpirationDays', logDays, 1, 3650);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.key = customerManagedKey(this, 'Key', {
      description: 'modelstack model store: data, model artifacts, checkpoints and captured inference data',
      removalPolicy,
    });

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Versioned, so a deleted or overwritten log stays recoverable until it expires.
      versioned: true,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(logDays), noncurrentVersionExpiration: Duration.days(noncurrentDays) },
      ],
      removalPolicy,
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is the server access log destination of the model bucket; logging it into itself would log its own log deliveries without end.',
    });
    acknowledgeRule(
      this.accessLogsBucket,
      'S3DefaultEncryptionKMS',
      'S3 server access logs are delivered only to destination buckets whose default encryption is SSE-S3 (S3 User Guide, "Enabling Amazon S3 server access logging"); with SSE-KMS default encryption the log deliveries would be lost.',
    );
    acknowledgeRule(
      this.accessLogsBucket,
      'S3BucketReplicationEnabled',
      'The access logs describe a single-region model store; replicating them needs a destination bucket in a second region, which this single-region stack does not have (add a replication rule in the account that owns one).',
    );

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      // One data key per bucket rather than per object: same protection, far fewer KMS calls.
      bucketKeyEnabled: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'model-store/',
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(noncurrentDays),
          abortIncompleteMultipartUploadAfter: Duration.days(abortDays),
        },
      ],
      removalPolicy,
    });
    acknowledgeRule(
      this.bucket,
      'S3BucketReplicationEnabled',
      'The model store lives in the one region the stack is deployed to and its artifacts can be re-created by retraining; cross-region replication needs a destination bucket and key in a second region, which this single-region stack does not have.',
    );
    for (const bucket of [this.bucket, this.accessLogsBucket]) {
      // Set on the L1 bucket: the L2's eventBridgeEnabled would add a custom resource and its Lambda.
      (bucket.node.defaultChild as s3.CfnBucket).addPropertyOverride('NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled', true);
    }
  }

  /** `s3://bucket/<key>` for a key in the store, e.g. `urlForObject('models/m1/model.tar.gz')`. */
  urlForObject(key: string = ''): string {
    return this.bucket.s3UrlForObject(key);
  }

  /** Read (and decrypt) objects under `prefix` (default: the whole bucket). */
  grantRead(grantee: iam.IGrantable, prefix: string = ''): iam.Grant {
    return this.bucket.grantRead(grantee, `${prefix}*`);
  }

  /** Write (and encrypt) objects under `prefix` (default: the whole bucket). */
  grantWrite(grantee: iam.IGrantable, prefix: string = ''): iam.Grant {
    return this.bucket.grantWrite(grantee, `${prefix}*`);
  }

  /** Read and write objects under `prefix` (default: the whole bucket). */
  grantReadWrite(grantee: iam.IGrantable, prefix: string = ''): iam.Grant {
    return this.bucket.grantReadWrite(grantee, `${prefix}*`);
  }
}
