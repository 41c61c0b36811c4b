/**
 * Creates ONNX Runtime sessions for this runtime's graphs: picks the execution provider
 * (device.ts), sets the thread count, and turns on every graph optimisation. Options come
 * from the caller or from the environment (MODEL_RUNTIME_DEVICE, MODEL_RUNTIME_THREADS).
 */
import * as ort from 'onnxruntime-node';
import { cudaProviderInstalled, cudaUnavailableReason, nvidiaGpuPresent, parseDevice } from './device.ts';
import type { Device } from './device.ts';

export interface EngineOptions {
  /**
   * Where to run. `auto` uses CUDA when a GPU and the CUDA provider are present, else the CPU.
   * @default MODEL_RUNTIME_DEVICE, else 'auto'
   */
  readonly device?: Device;
  /**
   * Threads ONNX Runtime uses inside one op (intra-op parallelism). 0 lets ONNX Runtime choose
   * (one per physical core).
   * @default MODEL_RUNTIME_THREADS, else 0
   */
  readonly intraOpNumThreads?: number;
  /**
   * Whether idle intra-op threads spin while waiting for work. Spinning shaves latency on a
   * dedicated machine (a SageMaker instance); on a machine shared with other busy processes it
   * burns the cores the other threads need, so turn it off there.
   * @default true
   */
  readonly allowSpinning?: boolean;
  /**
   * ONNX Runtime's graph optimisation level. `all` adds, on x86, the NCHWc layout transformer,
   * which moves Conv and its neighbours into a blocked layout: a gain for a forward pass, a loss
   * for a training step, whose backward pass reads every activation back in NCHW (a Reorder
   * node each).
   * @default 'all'
   */
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
  /** Where the one-line device decision is written. @default console.error (stdout carries metric lines) */
  readonly log?: (line: string) => void;
}

export type GraphOptimizationLevel = 'basic' | 'extended' | 'all';

/** Engine options from the environment, validated. */
export function engineOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): EngineOptions {
  const threads = env.MODEL_RUNTIME_THREADS;
  const intraOpNumThreads = threads === undefined || threads === '' ? 0 : Number(threads);
  if (!Number.isInteger(intraOpNumThreads) || intraOpNumThreads < 0 || intraOpNumThreads > 1024) {
    throw new Error(`MODEL_RUNTIME_THREADS='${threads}' must be an integer from 0 (ONNX Runtime decides) to 1024`);
  }
  return { device: parseDevice(env.MODEL_RUNTIME_DEVICE), intraOpNumThreads };
}

const logged = new Set<string>();
function logOnce(log: (line: string) => void, line: string): void {
  if (logged.has(line)) return;
  logged.add(line);
  log(line);
}

/** Session options shared by every session this runtime creates. */
export function sessionOptions(
  providers: string[],
  intraOpNumThreads: number,
  allowSpinning = true,
  graphOptimizationLevel: GraphOptimizationLevel = 'all',
): ort.InferenceSession.SessionOptions {
  return {
    extra: { session: { intra_op: { allow_spinning: allowSpinning ? '1' : '0' } } },
    executionProviders: providers,
    graphOptimizationLevel,
    executionMode: 'sequential',
    intraOpNumThreads,
    interOpNumThreads: 1,
    enableCpuMemArena: true,
    enableMemPattern: true,
  };
}

/** Loads ONNX bytes into a session on the chosen device. */
export async function createSession(model: Uint8Array, options: EngineOptions = {}): Promise<ort.InferenceSession> {
  // ONNX Runtime 1.30 starts a telemetry client with the first session (a device id and an
  // upload queue under $HOME) unless this is set: a model server or training job sends nothing
  // anywhere. Every session of this runtime is made here, so this is the one place to say it.
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  const env = options.device === undefined || options.intraOpNumThreads === undefined ? engineOptionsFromEnv() : {};
  const device = options.device ?? env.device ?? 'auto';
  const threads = options.intraOpNumThreads ?? env.intraOpNumThreads ?? 0;
  const log = options.log ?? ((line: string) => console.error(line));

  if (device === 'cuda') {
    // Asked for CUDA (the gpu image sets it): running on the CPU instead would look healthy while
    // a GPU instance idles, so say exactly what is missing.
    const reason = cudaUnavailableReason();
    if (reason !== undefined) throw new Error(`MODEL_RUNTIME_DEVICE=cuda, but the CUDA execution provider cannot run: ${reason}; or set MODEL_RUNTIME_DEVICE=cpu`);
  }
  if (device === 'webgpu') return createWebGpuSession(model, threads, options, log);
  const wantCuda = device === 'cuda' || (device === 'auto' && nvidiaGpuPresent() && cudaProviderInstalled());
  if (wantCuda) {
    try {
      const session = await ort.InferenceSession.create(model, sessionOptions(['cuda', 'cpu'], threads, options.allowSpinning, options.graphOptimizationLevel));
      logOnce(log, 'model-runtime: device=cuda (ONNX Runtime CUDA execution provider)');
      return session;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (device === 'cuda') {
        throw new Error(`MODEL_RUNTIME_DEVICE=cuda, but the CUDA execution provider failed to start: ${reason}; ` +
          'check that the NVIDIA driver supports the image\'s CUDA (nvidia-smi), or set MODEL_RUNTIME_DEVICE=cpu');
      }
      logOnce(log, `model-runtime: device=cpu (CUDA provider failed to start: ${reason.split('\n')[0]})`);
    }
  } else if (device === 'auto') {
    logOnce(log, `model-runtime: device=cpu (${nvidiaGpuPresent() ? 'CUDA provider not installed' : 'no NVIDIA GPU found'})`);
  }
  return ort.InferenceSession.create(model, sessionOptions(['cpu'], threads, options.allowSpinning, options.graphOptimizationLevel));
}

/**
 * WebGPU (Dawn over Vulkan, Metal or D3D12): a laptop's GPU for local training and serving.
 * Ops the WebGPU provider lacks run on the CPU provider within the same session. Asked for
 * explicitly only, and never a silent fallback: without an adapter, say what would give one.
 */
async function createWebGpuSession(model: Uint8Array, threads: number, options: EngineOptions, log: (line: string) => void): Promise<ort.InferenceSession> {
  try {
    const session = await ort.InferenceSession.create(model, sessionOptions(['webgpu', 'cpu'], threads, options.allowSpinning, options.graphOptimizationLevel));
    logOnce(log, 'model-runtime: device=webgpu (ONNX Runtime WebGPU execution provider)');
    return session;
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
    const noAdapter = /Failed to get a WebGPU adapter/.test(reason);
    throw new Error(`MODEL_RUNTIME_DEVICE=webgpu, but the WebGPU execution provider failed to start: ${noAdapter ? 'no WebGPU adapter on this machine' : reason}; ` +
      'it needs a GPU driver with Vulkan (Linux), Metal (macOS) or D3D12 (Windows); on Debian 12, Mesa 25 from bookworm-backports ' +
      '(mesa-vulkan-drivers) offers one, even without a GPU (lavapipe), where bookworm\'s Mesa 22 offers none; or set MODEL_RUNTIME_DEVICE=cpu');
  }
}
