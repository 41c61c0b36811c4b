/**
 * The gpu image's build step (model-runtime/docker/check-provider-libraries.ts) and the
 * runtime's MODEL_RUNTIME_DEVICE=cuda error name the libraries a provider cannot load. Checked
 * against binaries whose needs are known: a shared library compiled here against a library
 * that is then removed, and ONNX Runtime's own CPU library, whose needs all resolve.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onnxRuntimeBinDir, unresolvedLibraries } from '../../model-runtime/src/engine/device.ts';
import { REPO_ROOT } from '../serve/fixtures/spawn-cli.ts';

let dir: string;
let provider: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'provider-libraries-'));
  // libprovider.so needs libmodelstack_absent.so.13 (removed after linking) and libcuda.so.1 (a driver library).
  await writeFile(path.join(dir, 'absent.c'), 'int absent(void) { return 1; }\n');
  await writeFile(path.join(dir, 'provider.c'), 'int absent(void); int provide(void) { return absent(); }\n');
  const cc = (args: string[]) => execFileSync('cc', ['-shared', '-fPIC', ...args], { cwd: dir });
  for (const soname of ['libmodelstack_absent.so.13', 'libcuda.so.1']) cc(['-o', soname, `-Wl,-soname,${soname}`, 'absent.c']);
  cc(['-o', 'libprovider.so', 'provider.c', '-L.', '-Wl,--no-as-needed', '-l:libmodelstack_absent.so.13', '-l:libcuda.so.1']);
  await rm(path.join(dir, 'libmodelstack_absent.so.13'));
  await rm(path.join(dir, 'libcuda.so.1'));
  provider = path.join(dir, 'libprovider.so');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const check = (...libraries: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', 'model-runtime/docker/check-provider-libraries.ts', ...libraries], { cwd: REPO_ROOT })
    .then(({ stdout }) => ({ code: 0, output: stdout }), (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }));

describe('provider library check', () => {
  it('lists exactly the libraries the loader cannot find', () => {
    expect(unresolvedLibraries(provider).sort()).toEqual(['libcuda.so.1', 'libmodelstack_absent.so.13']);
    expect(unresolvedLibraries(path.join(onnxRuntimeBinDir(), 'libonnxruntime.so.1'))).toEqual([]);
  });

  it('fails the build step naming the missing library, and not the driver library the host provides', async () => {
    const { code, output } = await check(provider);
    expect(code).toBe(1);
    expect(output).toMatch(/libprovider\.so needs libmodelstack_absent\.so\.13, which do not resolve in this image/);
    expect(output).not.toMatch(/libcuda/);
  });

  it('passes a library whose needs all resolve, and fails one that is not installed', async () => {
    expect(await check('libonnxruntime.so.1')).toMatchObject({ code: 0, output: expect.stringMatching(/libonnxruntime\.so\.1: every library it needs resolves/) });
    const absent = await check('libonnxruntime_providers_cuda.so');
    expect(absent.code).toBe(1);
    expect(absent.output).toMatch(/libonnxruntime_providers_cuda\.so is not installed/);
  });
});
