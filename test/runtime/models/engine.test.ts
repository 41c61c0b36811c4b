/** The engine's device and thread options: parsed from the environment, refused when wrong, and the device decision logged. */
import { describe, expect, test } from 'vitest';
import { nvidiaGpuPresent, parseDevice } from '../../../model-runtime/src/engine/device.ts';
import { createSession, engineOptionsFromEnv, sessionOptions } from '../../../model-runtime/src/engine/session.ts';
import { GraphBuilder } from '../../../model-runtime/src/graph/builder.ts';
import { toModelBytes } from '../../../model-runtime/src/graph/proto.ts';
import * as ort from 'onnxruntime-node';

describe('engine options', () => {
  test('MODEL_RUNTIME_DEVICE and MODEL_RUNTIME_THREADS are read and validated', () => {
    expect(engineOptionsFromEnv({})).toEqual({ device: 'auto', intraOpNumThreads: 0 });
    expect(engineOptionsFromEnv({ MODEL_RUNTIME_DEVICE: 'cpu', MODEL_RUNTIME_THREADS: '2' })).toEqual({ device: 'cpu', intraOpNumThreads: 2 });
    expect(() => engineOptionsFromEnv({ MODEL_RUNTIME_DEVICE: 'tpu' })).toThrow("MODEL_RUNTIME_DEVICE='tpu' is not a device; use one of auto, cpu, cuda, webgpu");
    expect(() => engineOptionsFromEnv({ MODEL_RUNTIME_THREADS: 'two' })).toThrow(/MODEL_RUNTIME_THREADS='two' must be an integer from 0/);
    expect(parseDevice(undefined)).toBe('auto');
  });

  test('spinning of idle threads can be turned off (for machines shared with other work)', () => {
    expect(sessionOptions(['cpu'], 2).extra).toEqual({ session: { intra_op: { allow_spinning: '1' } } });
    expect(sessionOptions(['cpu'], 2, false).extra).toEqual({ session: { intra_op: { allow_spinning: '0' } } });
    expect(sessionOptions(['cpu'], 2, false).intraOpNumThreads).toBe(2);
  });

  test('every optimisation by default; a training step may skip the NCHWc layout transformer', async () => {
    expect(sessionOptions(['cpu'], 1).graphOptimizationLevel).toBe('all');
    expect(sessionOptions(['cpu'], 1, false, 'extended').graphOptimizationLevel).toBe('extended');
    const g = new GraphBuilder('double');
    g.output(g.add(g.input('x', 'float32', [2]), g.input('x2', 'float32', [2])), 'y');
    const session = await createSession(toModelBytes(g), { device: 'cpu', intraOpNumThreads: 1, graphOptimizationLevel: 'extended' });
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2), [2]), x2: new ort.Tensor('float32', Float32Array.of(3, 4), [2]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([4, 6]);
    await session.release();
  });

  test('auto without a GPU runs on the CPU, says so once, and computes', async () => {
    const g = new GraphBuilder('double');
    g.output(g.add(g.input('x', 'float32', [2]), g.input('x2', 'float32', [2])), 'y');
    const lines: string[] = [];
    const session = await createSession(toModelBytes(g), { device: 'auto', intraOpNumThreads: 1, log: (l) => lines.push(l) });
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2), [2]), x2: new ort.Tensor('float32', Float32Array.of(3, 4), [2]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([4, 6]);
    await session.release();
    expect(lines).toHaveLength(1);
    if (!nvidiaGpuPresent()) expect(lines[0]).toBe('model-runtime: device=cpu (no NVIDIA GPU found)');
  });
});

