import { describe, expect, it } from 'vitest';
import { describeInstanceType } from '../../lib/instance-type.ts';
import { GPU_INSTANCES, gpuInstance, totalGpuMemoryGiB } from '../../lib/endpoint/gpu-instances.ts';

describe('the GPU instance table', () => {
  it.each([
    ['ml.g5.xlarge', 1, 24, 'A10G'],
    ['ml.g5.12xlarge', 4, 24, 'A10G'],
    ['ml.g5.48xlarge', 8, 24, 'A10G'],
    ['ml.g6.4xlarge', 1, 24, 'L4'],
    ['ml.g6.12xlarge', 4, 24, 'L4'],
    ['ml.g6e.2xlarge', 1, 48, 'L40S'],
    ['ml.g6e.24xlarge', 4, 48, 'L40S'],
    ['ml.p4d.24xlarge', 8, 40, 'A100 40GB'],
    ['ml.p4de.24xlarge', 8, 80, 'A100 80GB'],
    ['ml.p5.48xlarge', 8, 80, 'H100'],
  ])('%s has %i x %i GiB %s', (instanceType, gpuCount, gpuMemoryGiB, gpu) => {
    expect(gpuInstance(instanceType)).toEqual({ instanceType, gpuCount, gpuMemoryGiB, gpu });
  });

  it('matches the SageMaker SDK totals where it lists them (p4d 327,680 MiB, p4de and p5 655,360 MiB, g5.12xlarge 98,304 MiB)', () => {
    expect(totalGpuMemoryGiB(gpuInstance('ml.p4d.24xlarge')!) * 1024).toBe(327_680);
    expect(totalGpuMemoryGiB(gpuInstance('ml.p4de.24xlarge')!) * 1024).toBe(655_360);
    expect(totalGpuMemoryGiB(gpuInstance('ml.p5.48xlarge')!) * 1024).toBe(655_360);
    expect(totalGpuMemoryGiB(gpuInstance('ml.g5.12xlarge')!) * 1024).toBe(98_304);
  });

  it('holds only NVIDIA GPU types, 27 of them, smallest total memory first', () => {
    expect(GPU_INSTANCES).toHaveLength(27);
    for (const entry of GPU_INSTANCES) expect(describeInstanceType('test', entry.instanceType).gpu, entry.instanceType).toBe(true);
    const totals = GPU_INSTANCES.map(totalGpuMemoryGiB);
    expect(totals).toEqual([...totals].sort((a, b) => a - b));
    expect(gpuInstance('ml.inf2.xlarge')).toBeUndefined();
    expect(gpuInstance('ml.m5.xlarge')).toBeUndefined();
  });
});
