import * as fs from 'node:fs';
import * as path from 'node:path';
import { IgnoreMode } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { PropValidationError } from './validation.ts';

/** The two builds of the runtime: `cpu` (Debian slim) and `gpu` (CUDA 12 + cuDNN 9). */
export type RuntimeFlavour = 'cpu' | 'gpu';

export const RUNTIME_FLAVOURS: ReadonlyArray<RuntimeFlavour> = ['cpu', 'gpu'];

export interface RuntimeImageProps {
  /**
   * Which Dockerfile build target to build.
   * @default 'gpu'
   */
  readonly flavour?: RuntimeFlavour;

  /**
   * CPU architecture of the image. SageMaker's Graviton instances (ml.c7g, ml.m7g, ...) need
   * `LINUX_ARM64`; the GPU flavour exists for x86 only.
   * @default Platform.LINUX_AMD64
   */
  readonly platform?: ecrAssets.Platform;

  /**
   * The Docker build context: the repository root, which holds the npm workspace's single
   * lockfile and `model-runtime/`.
   * @default the root of this repository
   */
  readonly directory?: string;
}

/** The Dockerfile, relative to the build context. */
const DOCKERFILE = 'model-runtime/Dockerfile';
/** Its BuildKit ignore file, which the asset's `exclude` reuses (one allowlist for both). */
const DOCKER_IGNORE = `${DOCKERFILE}.dockerignore`;
const REPOSITORY_ROOT = path.resolve(import.meta.dirname, '..');

/** The patterns of the runtime's ignore file, without comments and blank lines. */
export function runtimeImageExcludes(directory: string = REPOSITORY_ROOT): string[] {
  return fs
    .readFileSync(path.join(directory, DOCKER_IGNORE), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * The container image that runs `model-runtime train` and `model-runtime serve`, built from
 * `model-runtime/Dockerfile` by `cdk deploy` and pushed to the CDK assets ECR repository.
 * Synthesis needs no Docker: only the asset's hash is computed, over the files the ignore
 * allowlist keeps.
 */
export class RuntimeImage extends Construct {
  /** The build target this image was built from. */
  readonly flavour: RuntimeFlavour;
  /** The underlying image asset. */
  readonly asset: ecrAssets.DockerImageAsset;

  constructor(scope: Construct, id: string, props: RuntimeImageProps = {}) {
    super(scope, id);
    this.flavour = props.flavour ?? 'gpu';
    if (!RUNTIME_FLAVOURS.includes(this.flavour)) {
      throw new PropValidationError('RuntimeImage.flavour', `must be one of ${RUNTIME_FLAVOURS.join(', ')}, got ${JSON.stringify(this.flavour)}`);
    }
    const platform = props.platform ?? ecrAssets.Platform.LINUX_AMD64;
    if (this.flavour === 'gpu' && platform.platform !== ecrAssets.Platform.LINUX_AMD64.platform) {
      throw new PropValidationError('RuntimeImage.platform', `the gpu flavour is built for linux/amd64 only, got ${platform.platform}`);
    }
    const directory = props.directory ?? REPOSITORY_ROOT;
    this.asset = new ecrAssets.DockerImageAsset(this, 'Asset', {
      directory,
      file: DOCKERFILE,
      target: this.flavour,
      platform,
      exclude: runtimeImageExcludes(directory),
      ignoreMode: IgnoreMode.DOCKER,
      displayName: `modelstack runtime (${this.flavour})`,
    });
  }

  /** The image URI (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<hash>`). */
  get imageUri(): string {
    return this.asset.imageUri;
  }

  /** Let `grantee` pull this image (ECR auth token plus layer reads on the repository). */
  grantPull(grantee: iam.IGrantable): iam.Grant {
    return this.asset.repository.grantPull(grantee);
  }
}
