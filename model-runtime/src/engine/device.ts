/**
 * Which ONNX Runtime execution provider to run on. `auto` picks CUDA when an NVIDIA GPU is
 * present and the CUDA provider library is installed next to onnxruntime-node's binding (the
 * GPU image installs it with `--onnxruntime-node-install=cuda12`), and the CPU otherwise.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const DEVICES = ['auto', 'cpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

export function parseDevice(value: string | undefined, source = 'MODEL_RUNTIME_DEVICE'): Device {
  if (value === undefined || value === '') return 'auto';
  if ((DEVICES as readonly string[]).includes(value)) return value as Device;
  throw new Error(`${source}='${value}' is not a device; use one of ${DEVICES.join(', ')}`);
}

/** True when the machine has an NVIDIA driver loaded. */
export function nvidiaGpuPresent(): boolean {
  return existsSync('/proc/driver/nvidia/version') || existsSync('/dev/nvidia0');
}

/** True when onnxruntime-node's CUDA provider library is installed beside its native binding. */
export function cudaProviderInstalled(): boolean {
  const require = createRequire(import.meta.url);
  const binDir = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(binDir, 'libonnxruntime_providers_cuda.so'));
}
