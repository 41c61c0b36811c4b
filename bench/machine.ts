/**
 * The machine a benchmark ran on, for its RESULTS.md section: core count, CPU model and the
 * widest SIMD the CPU reports (ONNX Runtime's MLAS and the peers' BLAS each pick kernels by it).
 * The CNN step's ratio to PyTorch moved from 1.34 to 0.95 between two sessions' 2-core machines
 * with no change to the graph that explains it, so a ratio is comparable only with the CPU
 * named beside it.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** 'AVX-512', 'AVX2' or 'no AVX2', from /proc/cpuinfo's flags (Linux); null where it is unreadable. */
export function simdLevel(): string | null {
  let flags: string[];
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    if (line === undefined) return null;
    flags = line.slice(line.indexOf(':') + 1).trim().split(/\s+/);
  } catch {
    return null;
  }
  if (flags.includes('avx512f')) return 'AVX-512';
  return flags.includes('avx2') ? 'AVX2' : 'no AVX2';
}

/** "2 cores (AMD EPYC, AVX-512)". */
export function describeCpu(): string {
  const simd = simdLevel();
  const model = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${os.availableParallelism()} cores (${simd === null ? model : `${model}, ${simd}`})`;
}
