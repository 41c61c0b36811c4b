/**
 * The NVIDIA GPU instance types SageMaker hosts large models on, with what synth-time checks of a
 * tensor-parallel model need: how many GPUs an instance has and how much memory each one has.
 *
 * Sources: the EC2 accelerated-computing instance specifications (GPU model and count per size),
 * the SageMaker Python SDK's `image_uri_config/instance_gpu_info.json` (GPU count and total GPU
 * memory in MiB of g5, p4d, p4de, p5), and LMI's instance type selection guide (djl-serving
 * `serving/docs/lmi/deployment_guide/instance-type-selection.md`: g5/g6 24 GB per GPU, p4d 320 GB
 * and p4de/p5 640 GB per instance). Memory is the nominal figure AWS states, read as GiB (the
 * SDK lists an A10G as 24,576 MiB); what the driver reports is a few percent less (about 22.4 GiB
 * on an A10G, as the SDK's g5.48xlarge total shows, and 45 GiB on an L40S), so a model right at
 * the limit may still not fit.
 * Inferentia and Trainium (ml.inf2, ml.trn1) are not NVIDIA GPUs: the
 * LMI NeuronX image serves those, and it is not covered here.
 */

/** One GPU instance type: its accelerators, as vLLM's tensor parallelism sees them. */
export interface GpuInstance {
  /** `ml.g5.12xlarge` */
  readonly instanceType: string;
  /** The GPU model, e.g. `A10G`. */
  readonly gpu: string;
  /** GPUs on one instance. */
  readonly gpuCount: number;
  /** Memory of each GPU, in GiB. */
  readonly gpuMemoryGiB: number;
}

/** The GPU model and memory of each family. */
const FAMILIES = {
  g5: { gpu: 'A10G', gpuMemoryGiB: 24 },
  g6: { gpu: 'L4', gpuMemoryGiB: 24 },
  g6e: { gpu: 'L40S', gpuMemoryGiB: 48 },
  p4d: { gpu: 'A100 40GB', gpuMemoryGiB: 40 },
  p4de: { gpu: 'A100 80GB', gpuMemoryGiB: 80 },
  p5: { gpu: 'H100', gpuMemoryGiB: 80 },
} as const;

type Family = keyof typeof FAMILIES;

/** The g5, g6 and g6e sizes share one layout: 1 GPU up to 16xlarge (more CPU and RAM only), 4 on 12xlarge and 24xlarge, 8 on 48xlarge. */
const G_SIZES: ReadonlyArray<readonly [string, number]> = [
  ['xlarge', 1],
  ['2xlarge', 1],
  ['4xlarge', 1],
  ['8xlarge', 1],
  ['16xlarge', 1],
  ['12xlarge', 4],
  ['24xlarge', 4],
  ['48xlarge', 8],
];

function instance(family: Family, size: string, gpuCount: number): GpuInstance {
  return { instanceType: `ml.${family}.${size}`, gpuCount, ...FAMILIES[family] };
}

/** Every GPU instance type the constructs know, smallest total GPU memory first. */
export const GPU_INSTANCES: ReadonlyArray<GpuInstance> = [
  ...(['g5', 'g6', 'g6e'] as const).flatMap((family) => G_SIZES.map(([size, count]) => instance(family, size, count))),
  instance('p4d', '24xlarge', 8),
  instance('p4de', '24xlarge', 8),
  instance('p5', '48xlarge', 8),
].sort((a, b) => totalGpuMemoryGiB(a) - totalGpuMemoryGiB(b) || a.gpuCount - b.gpuCount);

const BY_TYPE = new Map(GPU_INSTANCES.map((entry) => [entry.instanceType, entry]));

/** The GPUs of `instanceType`, or undefined when the type is not in the table. */
export function gpuInstance(instanceType: string): GpuInstance | undefined {
  return BY_TYPE.get(instanceType);
}

/** All GPU memory of one instance, in GiB. */
export function totalGpuMemoryGiB(entry: GpuInstance): number {
  return entry.gpuCount * entry.gpuMemoryGiB;
}

/** `1 x 24 GiB A10G` */
export function describeGpus(entry: GpuInstance): string {
  return `${entry.gpuCount} x ${entry.gpuMemoryGiB} GiB ${entry.gpu}`;
}
