/**
 * MODEL_RUNTIME_DEVICE=cuda (the gpu image's setting) never falls back to the CPU: on a machine
 * without the CUDA provider it refuses, saying what is missing. And no session this runtime
 * makes starts ONNX Runtime's telemetry (which writes a device id and an upload queue under
 * $HOME): checked in a child process with an empty HOME, where a telemetry client would write.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cudaProviderInstalled } from '../../../model-runtime/src/engine/device.ts';
import { createSession } from '../../../model-runtime/src/engine/session.ts';
import { GraphBuilder } from '../../../model-runtime/src/graph/builder.ts';
import { toModelBytes } from '../../../model-runtime/src/graph/proto.ts';
import { REPO_ROOT } from '../../serve/fixtures/spawn-cli.ts';

function identityModel(): Uint8Array {
  const g = new GraphBuilder('identity');
  g.output(g.add(g.input('x', 'float32', [2]), g.input('y', 'float32', [2])), 'z');
  return toModelBytes(g);
}

describe('MODEL_RUNTIME_DEVICE=cuda', () => {
  it.skipIf(cudaProviderInstalled())('refuses to run on the CPU instead, naming the missing provider and what to do', async () => {
    const error = await createSession(identityModel(), { device: 'cuda', intraOpNumThreads: 1, log: () => undefined }).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/MODEL_RUNTIME_DEVICE=cuda, but the CUDA execution provider cannot run: libonnxruntime_providers_cuda\.so is not installed beside onnxruntime-node .*ONNXRUNTIME_NODE_INSTALL=1.*or set MODEL_RUNTIME_DEVICE=cpu/);
  });
});

describe('ONNX Runtime telemetry', () => {
  it('stays off: a session leaves nothing under an empty HOME', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'ort-telemetry-home-'));
    try {
      const script = `
        import { createSession } from './model-runtime/src/engine/session.ts';
        import { GraphBuilder } from './model-runtime/src/graph/builder.ts';
        import { toModelBytes } from './model-runtime/src/graph/proto.ts';
        const g = new GraphBuilder('identity');
        g.output(g.add(g.input('x', 'float32', [2]), g.input('y', 'float32', [2])), 'z');
        const session = await createSession(toModelBytes(g), { device: 'cpu', intraOpNumThreads: 1 });
        await session.release();
        console.log('session made');
      `;
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
      delete env.ORT_DISABLE_TELEMETRY;
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, env });
      expect(stdout).toMatch(/session made/);
      expect(await readdir(home, { recursive: true })).toEqual([]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
