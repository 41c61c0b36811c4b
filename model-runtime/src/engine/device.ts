/**
 * Which ONNX Runtime execution provider to run on. `auto` picks CUDA when an NVIDIA GPU is
 * present and the CUDA provider library is installed next to onnxruntime-node's binding (the
 * GPU image installs it with ONNXRUNTIME_NODE_INSTALL=1), and the CPU otherwise. `cuda` (what
 * the GPU image sets) never falls back: a provider that cannot load is an error that names why.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const DEVICES = ['auto', 'cpu', 'cuda', 'webgpu'] as const;
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

/** Where onnxruntime-node keeps its native binding and the provider libraries beside it. */
export function onnxRuntimeBinDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

export const CUDA_PROVIDER_LIBRARY = 'libonnxruntime_providers_cuda.so';

/** True when onnxruntime-node's CUDA provider library is installed beside its native binding. */
export function cudaProviderInstalled(): boolean {
  return existsSync(join(onnxRuntimeBinDir(), CUDA_PROVIDER_LIBRARY));
}

/**
 * The shared libraries `library` needs that the dynamic loader cannot find (ldd's "not
 * found"), e.g. ['libcudart.so.13', 'libcudnn.so.9']; empty when all resolve. ldd follows
 * the library's own RUNPATH and LD_LIBRARY_PATH exactly as loading it would.
 */
export function unresolvedLibraries(library: string): string[] {
  let listing: string;
  try {
    listing = execFileSync('ldd', [library], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    // ldd exits 1 for a file it cannot read as a shared library; its stdout still lists what it found.
    listing = String((error as { stdout?: unknown }).stdout ?? '');
  }
  return [...listing.matchAll(/^\s*(\S+) => not found$/gm)].map((match) => match[1]!);
}

/** Why the CUDA provider cannot run on this machine, or undefined when nothing is known to stop it. */
export function cudaUnavailableReason(): string | undefined {
  const provider = join(onnxRuntimeBinDir(), CUDA_PROVIDER_LIBRARY);
  if (!existsSync(provider)) {
    return `${CUDA_PROVIDER_LIBRARY} is not installed beside onnxruntime-node (${onnxRuntimeBinDir()}): ` +
      'install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=1 (the gpu image does)';
  }
  const missing = unresolvedLibraries(provider);
  if (missing.length > 0) {
    return `${CUDA_PROVIDER_LIBRARY} needs ${missing.join(', ')}, which the loader cannot find: ` +
      'use a CUDA and cuDNN base that provides them (see model-runtime/Dockerfile, target gpu), or add their folder to LD_LIBRARY_PATH';
  }
  if (!nvidiaGpuPresent()) return 'no NVIDIA driver is loaded (/proc/driver/nvidia/version is absent): run on a GPU instance';
  return undefined;
}
