/**
 * The environment for the Python peers (PyTorch over OpenBLAS).
 *
 * This workplace sets OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) machine-wide because older OpenBLAS
 * builds misbehave on some processors. On this machine it pins OpenBLAS to its Haswell kernels,
 * about 20% slower for sgemm than the kernel OpenBLAS picks by itself (109 vs 136 GFLOP/s for a
 * 1024^3 matmul on one core). A benchmark against the peer must not handicap it, so the peers run
 * without both; the training bench's loss check (1e-4 relative) confirms the results stay right.
 */
export function peerEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}
