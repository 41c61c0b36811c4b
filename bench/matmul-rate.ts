/**
 * The limit a compute-bound step is measured against: the best float32 matmul rate ONNX
 * Runtime reaches on this machine at a thread count (one MatMul of two n x n matrices, MLAS's
 * SGEMM, the kernel a Conv's im2col and a Gemm end in). A step's matmul FLOPs over its time,
 * divided by this, says how much of the machine the step uses.
 */
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '../model-runtime/src/engine/session.ts';
import { GraphBuilder } from '../model-runtime/src/graph/builder.ts';
import { toModelBytes } from '../model-runtime/src/graph/proto.ts';

/** GFLOP/s of the fastest of `runs` n x n x n MatMuls (2 n^3 FLOPs each) after two warm-up runs. */
export async function bestMatmulRate(threads: number, n = 1024, runs = 10): Promise<number> {
  const g = new GraphBuilder('matmul_rate');
  g.output(g.matmul(g.input('a', 'float32', [n, n]), g.input('b', 'float32', [n, n])), 'c');
  const session = await ort.InferenceSession.create(toModelBytes(g), sessionOptions(['cpu'], threads, false));
  try {
    const values = Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const feeds = { a: new ort.Tensor('float32', values, [n, n]), b: new ort.Tensor('float32', values, [n, n]) };
    let best = Infinity;
    for (let r = 0; r < runs + 2; r++) {
      const start = performance.now();
      await session.run(feeds);
      if (r >= 2) best = Math.min(best, performance.now() - start);
    }
    return (2 * n ** 3) / (best / 1000) / 1e9;
  } finally {
    await session.release();
  }
}
