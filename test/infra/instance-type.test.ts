import { describe, expect, it } from 'vitest';
import { describeInstanceType } from '../../lib/instance-type.ts';

describe('describeInstanceType', () => {
  it.each([
    // name, gpu, nvme, burstable, graviton
    ['ml.g5.xlarge', true, true, false, false],
    ['ml.g4dn.xlarge', true, true, false, false],
    ['ml.g6e.2xlarge', true, true, false, false],
    ['ml.p3.2xlarge', true, false, false, false],
    ['ml.p3dn.24xlarge', true, true, false, false],
    ['ml.p4d.24xlarge', true, true, false, false],
    ['ml.p5.48xlarge', true, true, false, false],
    ['ml.m5.large', false, false, false, false],
    ['ml.m5d.large', false, true, false, false],
    ['ml.c5d.xlarge', false, true, false, false],
    ['ml.r5d.large', false, true, false, false],
    ['ml.c6id.large', false, true, false, false],
    ['ml.inf2.xlarge', false, false, false, false],
    ['ml.t2.medium', false, false, true, false],
    ['ml.c7g.large', false, false, false, true],
    ['ml.g5g.xlarge', false, false, false, true],
  ])('%s: gpu %s, NVMe instance storage %s, burstable %s, Graviton %s', (name, gpu, nvme, burstable, graviton) => {
    const info = describeInstanceType('prop', name);
    expect([info.gpu, info.nvmeInstanceStorage, info.burstable, info.graviton]).toEqual([gpu, nvme, burstable, graviton]);
  });

  it('names the prop when the string is not an ML instance type', () => {
    expect(() => describeInstanceType('ModelStack.instanceType', 'g5.xlarge')).toThrow(/ModelStack\.instanceType: must be a SageMaker ML instance type/);
  });
});
