import { Aws, CfnMapping, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { PropValidationError, requireMatch } from '../validation.ts';

/**
 * SageMaker's Large Model Inference (LMI) container: djl-serving with vLLM, in the Deep Learning
 * Containers repository `djl-inference` that AWS publishes in each region's DLC account.
 *
 * The accounts are those of the SageMaker Python SDK's `image_uri_config/djl-lmi.json` (the same
 * for every LMI version listed there); the default tag is LMI V20, as djl-serving's
 * `serving/docs/lmi/release_notes.md` publishes it (vLLM 0.15.1, CUDA 12.8).
 */

/** The ECR repository of the LMI images in every DLC account. */
export const LMI_REPOSITORY = 'djl-inference';

/** The DLC account that publishes the LMI images, per region. */
export const LMI_IMAGE_ACCOUNTS: Readonly<Record<string, string>> = {
  'af-south-1': '626614931356',
  'ap-east-1': '871362719292',
  'ap-northeast-1': '763104351884',
  'ap-northeast-2': '763104351884',
  'ap-northeast-3': '364406365360',
  'ap-south-1': '763104351884',
  'ap-southeast-1': '763104351884',
  'ap-southeast-2': '763104351884',
  'ap-southeast-3': '907027046896',
  'ca-central-1': '763104351884',
  'ca-west-1': '204538143572',
  'cn-north-1': '727897471807',
  'cn-northwest-1': '727897471807',
  'eu-central-1': '763104351884',
  'eu-north-1': '763104351884',
  'eu-south-1': '692866216735',
  'eu-west-1': '763104351884',
  'eu-west-2': '763104351884',
  'eu-west-3': '763104351884',
  'il-central-1': '780543022126',
  'me-central-1': '914824155844',
  'me-south-1': '217643126080',
  'sa-east-1': '763104351884',
  'us-east-1': '763104351884',
  'us-east-2': '763104351884',
  'us-gov-east-1': '446045086412',
  'us-gov-west-1': '442386744353',
  'us-west-1': '763104351884',
  'us-west-2': '763104351884',
};

/** `0.36.0-lmi20.0.0-cu128`, optionally with a patch suffix such as `-v1.0`. */
const LMI_TAG = /^\d+\.\d+\.\d+-lmi\d+\.\d+\.\d+-cu\d+(-v\d+(\.\d+)*)?$/;

/** A tag of the LMI (vLLM) image. */
export class LmiVersion {
  /** LMI V20 (djl-serving 0.36.0, vLLM 0.15.1, CUDA 12.8), released 2026-02-09: the default. */
  static readonly V20 = new LmiVersion('0.36.0-lmi20.0.0-cu128-v1.0');
  /** LMI V19 (djl-serving 0.36.0, vLLM 0.14.0, CUDA 12.8). */
  static readonly V19 = new LmiVersion('0.36.0-lmi19.0.0-cu128');
  /** LMI V17 (djl-serving 0.35.0, vLLM 0.11.1, CUDA 12.8). */
  static readonly V17 = new LmiVersion('0.35.0-lmi17.0.0-cu128');

  /** Any published LMI tag, e.g. `LmiVersion.of('0.36.0-lmi19.0.0-cu128')`. */
  static of(tag: string): LmiVersion {
    requireMatch('LmiVersion.of', tag, LMI_TAG, 'an LMI image tag like "0.36.0-lmi20.0.0-cu128" (djl-serving version, LMI version, CUDA version)');
    return new LmiVersion(tag);
  }

  private constructor(readonly tag: string) {}
}

/** The documented default version. */
export const LMI_DEFAULT_VERSION = LmiVersion.V20;

/**
 * The LMI image of `version` in the stack's region, and what pulling it takes. In a stack with a
 * concrete region the account is looked up at synth, and a region with no LMI image fails synth;
 * in an environment-agnostic stack it is a CloudFormation mapping over the known regions, looked
 * up at deploy time.
 */
export class LmiImage {
  /** `<account>.dkr.ecr.<region>.<suffix>/djl-inference:<tag>` */
  readonly imageUri: string;
  /** The `djl-inference` repository the image is pulled from. */
  readonly repositoryArn: string;

  constructor(scope: IConstruct, prop: string, version: LmiVersion = LMI_DEFAULT_VERSION) {
    const stack = Stack.of(scope);
    const account = lmiImageAccount(stack, prop);
    const region = stack.region;
    // ECR's domain is amazonaws.com.cn in the China regions, as the URL suffix is.
    const suffix = Token.isUnresolved(region) ? Aws.URL_SUFFIX : region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    this.imageUri = `${account}.dkr.ecr.${region}.${suffix}/${LMI_REPOSITORY}:${version.tag}`;
    this.repositoryArn = `arn:${stack.partition}:ecr:${region}:${account}:repository/${LMI_REPOSITORY}`;
  }

  /** Let `grantee` pull the image: an ECR token (no resource-level permission exists) and layer reads on `djl-inference` only. */
  grantPull(grantee: iam.IGrantable): iam.Grant {
    iam.Grant.addToPrincipal({ grantee, actions: ['ecr:GetAuthorizationToken'], resourceArns: ['*'] });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
      resourceArns: [this.repositoryArn],
    });
  }
}

/** The DLC account of the stack's region: a string at synth, or a mapping lookup for a region-agnostic stack. */
function lmiImageAccount(stack: Stack, prop: string): string {
  const region = stack.region;
  if (!Token.isUnresolved(region)) {
    const account = LMI_IMAGE_ACCOUNTS[region];
    if (account === undefined) {
      throw new PropValidationError(
        prop,
        `AWS publishes no LMI image for region ${region} that this construct knows; known regions: ${Object.keys(LMI_IMAGE_ACCOUNTS).join(', ')}`,
      );
    }
    return account;
  }
  const id = 'LmiImageAccounts';
  const mapping =
    (stack.node.tryFindChild(id) as CfnMapping | undefined) ??
    new CfnMapping(stack, id, { mapping: Object.fromEntries(Object.entries(LMI_IMAGE_ACCOUNTS).map(([name, account]) => [name, { account }])) });
  return mapping.findInMap(Aws.REGION, 'account');
}
