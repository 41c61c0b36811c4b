/**
 * The gpu image's entrypoint switches to CUDA's forward-compatibility libraries exactly when the
 * host's NVIDIA driver is older than the one they carry, and otherwise runs its command as is.
 * Fake driver version files and compat folders stand in for /proc and /usr/local/cuda/compat.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../serve/fixtures/spawn-cli.ts';

const entrypoint = path.join(REPO_ROOT, 'model-runtime', 'docker', 'cuda-compat-entrypoint.sh');
let dir: string;
let compat: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cuda-compat-'));
  compat = path.join(dir, 'compat');
  await mkdir(compat);
  await writeFile(path.join(compat, 'libcuda.so.580.95.05'), '');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(driver: string | null): Promise<{ path: string; stderr: string }> {
  const versionFile = path.join(dir, `version-${driver}`);
  if (driver !== null) await writeFile(versionFile, `NVRM version: NVIDIA UNIX x86_64 Kernel Module  ${driver}  Tue Jun  6 22:20:39 UTC 2023\nGCC version:  gcc version 7.3.1\n`);
  const { stdout, stderr } = await promisify(execFile)('sh', [entrypoint, 'sh', '-c', 'echo "${LD_LIBRARY_PATH:-}"'], {
    env: { PATH: process.env.PATH, CUDA_COMPAT_DIR: compat, NVIDIA_DRIVER_VERSION_FILE: versionFile, LD_LIBRARY_PATH: '/usr/local/nvidia/lib64' },
  });
  return { path: stdout.trim(), stderr };
}

describe('cuda-compat-entrypoint', () => {
  it('puts the compat libraries first on an older driver (SageMaker\'s 535) and says so', async () => {
    const { path: ldPath, stderr } = await run('535.54.03');
    expect(ldPath).toBe(`${compat}:/usr/local/nvidia/lib64`);
    expect(stderr).toMatch(/NVIDIA driver 535 is older than this image's CUDA needs \(580\): using CUDA forward compatibility/);
  });

  it('leaves the path alone on a driver as new as the compat libraries, and without a GPU', async () => {
    expect(await run('580.95.05')).toEqual({ path: '/usr/local/nvidia/lib64', stderr: '' });
    expect(await run('590.10.01')).toEqual({ path: '/usr/local/nvidia/lib64', stderr: '' });
    expect(await run(null)).toEqual({ path: '/usr/local/nvidia/lib64', stderr: '' });
  });
});
