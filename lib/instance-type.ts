import { PropValidationError } from './validation.ts';

/**
 * Facts about SageMaker ML instance types (`ml.<family>.<size>`) that the constructs need at
 * synth: whether the family has NVIDIA GPUs, burstable CPU credits, local NVMe instance
 * storage, or Graviton (arm64) processors.
 */
export interface InstanceTypeInfo {
  /** The type as given, e.g. `ml.g5.xlarge`. */
  readonly name: string;
  /** The family, e.g. `g5`, `g4dn`, `m5d`, `c7g`. */
  readonly family: string;
  /** NVIDIA GPU families (g4dn, g5, g6, g6e, gr6, p3, p3dn, p4d, p4de, p5, ...). */
  readonly gpu: boolean;
  /** Burstable families (t2, t3): CPU credits run out under sustained load. */
  readonly burstable: boolean;
  /**
   * Families with local NVMe instance storage. SageMaker encrypts those volumes with a
   * hardware module on the instance and rejects `KmsKeyId` on an endpoint configuration that
   * uses them ("You can't request a KmsKeyId when using an instance type with local storage").
   */
  readonly nvmeInstanceStorage: boolean;
  /** Graviton families (c6g, c7g, m6g, r7g, ...), which run linux/arm64 images. */
  readonly graviton: boolean;
}

const INSTANCE_TYPE = /^ml\.([a-z]+)(\d+)([a-z-]*)\.([a-z0-9]+)$/;

/**
 * Families whose names carry no `d` but that still come with NVMe instance storage
 * (EC2 "Instance store volumes" tables): all g5/g6/g6e/gr6 sizes, p5 and Trainium.
 */
const NVME_WITHOUT_D_SUFFIX = new Set(['g5', 'g6', 'g6e', 'gr6', 'p5', 'p5e', 'trn1', 'trn1n', 'trn2']);

/** AMD (g4ad) and Graviton (g5g) GPU families cannot run the CUDA image. */
const NON_NVIDIA_GPU = new Set(['g4ad', 'g5g']);

/** Parses `ml.g5.xlarge`; throws naming `prop` when the string is not an ML instance type. */
export function describeInstanceType(prop: string, name: string): InstanceTypeInfo {
  const match = INSTANCE_TYPE.exec(name);
  if (!match) {
    throw new PropValidationError(
      prop,
      `must be a SageMaker ML instance type such as "ml.g5.xlarge" or "ml.m5.large", got ${JSON.stringify(name)}`,
    );
  }
  const [, letters, generation, attributes] = match as unknown as [string, string, string, string];
  const family = `${letters}${generation}${attributes}`;
  // Attribute letters after the generation: d = local NVMe disk, g = Graviton, n = network, e = extra memory.
  const gpuClass = letters === 'g' || letters === 'gr' || letters === 'p';
  return {
    name,
    family,
    gpu: gpuClass && !NON_NVIDIA_GPU.has(family),
    burstable: letters === 't',
    nvmeInstanceStorage: attributes.includes('d') || NVME_WITHOUT_D_SUFFIX.has(family),
    graviton: attributes.includes('g') || family === 'g5g',
  };
}
