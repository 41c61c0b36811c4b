/**
 * The user-facing configuration of a ModelStack: plain JSON, as it comes from the CDK context
 * key `modelstack` or from a JSON config file (see bin/config.ts, which validates it and names
 * the offending key). Every field is optional; the defaults are the documented ones.
 */
export interface ModelStackSettings {
  /**
   * The SageMaker endpoint's name (fixed, so the pipeline and alarms can find it).
   * @default the stack name
   */
  readonly endpointName?: string;

  /**
   * The trained model to serve, `s3://<bucket>/<key>.tar.gz`. When absent, the stack deploys
   * the model store, the images, the execution role and the monitoring, but no endpoint
   * (there is no model before the first training run): the training pipeline creates the
   * endpoint, or set this and deploy again.
   * @default no endpoint
   */
  readonly modelDataUrl?: string;

  /**
   * The sealed digest of `modelDataUrl` (MANIFEST.json's `digest`, 64 hex characters). Strongly
   * recommended with `modelDataUrl`: the container refuses any archive with another digest
   * (InferenceEndpoint.modelDigest).
   * @default none: the archive is checked against its own MANIFEST.json only
   */
  readonly modelDigest?: string;

  /**
   * Instance type of the endpoint; GPU families run the CUDA image, CPU families the CPU one.
   * @default 'ml.g5.xlarge'
   */
  readonly instanceType?: string;

  /**
   * Instances when the endpoint is created.
   * @default 1 (1 to 100)
   */
  readonly initialInstanceCount?: number;

  /**
   * A serverless endpoint instead of instances (CPU only; no VPC, isolation, capture, async).
   * @default instances
   */
  readonly serverless?: {
    /** @default 2048 (1024, 2048, ..., 6144) */
    readonly memorySizeInMb?: number;
    /** @default 5 (1 to 200) */
    readonly maxConcurrency?: number;
    /** @default none (1 to maxConcurrency) */
    readonly provisionedConcurrency?: number;
  };

  /**
   * Asynchronous inference (queued requests, results under inference/, SNS notifications).
   * @default false
   */
  readonly asyncInference?: boolean;

  /**
   * Percentage of requests and responses captured to capture/; 0 turns capture off.
   * @default 100 (0 to 100)
   */
  readonly dataCapturePercent?: number;

  /**
   * Whether serving containers may make no network calls.
   * @default true
   */
  readonly networkIsolation?: boolean;

  /**
   * Run the model in an existing VPC (IDs, so synthesis needs no AWS lookup).
   * @default no VPC
   */
  readonly vpc?: {
    readonly vpcId: string;
    readonly subnetIds: ReadonlyArray<string>;
    /** @default a new security group with no inbound rules */
    readonly securityGroupIds?: ReadonlyArray<string>;
  };

  /**
   * Instance autoscaling; `false` turns it off.
   * @default on, 1 to 4 instances, 100 invocations per instance per minute
   */
  readonly autoscaling?:
    | false
    | {
        /** @default 1 (1 to 100) */
        readonly minCapacity?: number;
        /** @default 4 (minCapacity to 100) */
        readonly maxCapacity?: number;
        /** @default 100 (1 to 100000) */
        readonly targetInvocationsPerInstance?: number;
        /** @default 300 (0 to 3600) */
        readonly scaleInCooldownSeconds?: number;
        /** @default 60 (0 to 3600) */
        readonly scaleOutCooldownSeconds?: number;
        /** @default none */
        readonly schedules?: ReadonlyArray<{
          readonly name: string;
          readonly expression: string;
          readonly minCapacity?: number;
          readonly maxCapacity?: number;
          readonly timeZone?: string;
        }>;
      };

  /**
   * Blue/green canary share of capacity, in percent.
   * @default 10 (1 to 99)
   */
  readonly canaryPercent?: number;

  /**
   * Minutes the canary is watched before all traffic shifts.
   * @default 5 (0 to 60)
   */
  readonly canaryWaitMinutes?: number;

  /**
   * Minutes the old fleet is kept after the shift.
   * @default 5 (0 to 60)
   */
  readonly terminationWaitMinutes?: number;

  /**
   * E-mail address subscribed to the alarm topic.
   * @default none
   */
  readonly alarmEmail?: string;

  /**
   * p99 model latency alarm threshold, in milliseconds.
   * @default 1000 (1 to 60000)
   */
  readonly latencyP99Ms?: number;

  /**
   * 5XX rate alarm threshold, in percent of invocations.
   * @default 1 (0 to 100)
   */
  readonly error5xxRatePercent?: number;

  /**
   * 4XX rate alarm threshold (abuse signal), in percent of invocations.
   * @default 10 (0 to 100)
   */
  readonly error4xxRatePercent?: number;

  /**
   * GPU memory alarm threshold, in percent (summed over GPUs).
   * @default 90 (1 to 800)
   */
  readonly gpuMemoryPercent?: number;

  /**
   * Days noncurrent object versions are kept in the model store.
   * @default 30 (1 to 3650)
   */
  readonly noncurrentVersionExpirationDays?: number;

  /**
   * What `cdk destroy` does with the model store's buckets and key.
   * @default 'retain'
   */
  readonly removalPolicy?: 'retain' | 'destroy';
}
