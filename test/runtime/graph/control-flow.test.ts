/**
 * builder.ts's ifElse: an ONNX If whose branches are nested graphs reading the outer graph's
 * inputs and initializers by name. ONNX Runtime runs the branch the condition picks; bad branch
 * pairs are refused by name, and autodiff refuses a graph with an If rather than miss the
 * values its branches read.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { gradients } from '../../../model-runtime/src/graph/autodiff.ts';
import { GraphBuilder } from '../../../model-runtime/src/graph/builder.ts';
import { toModelBytes } from '../../../model-runtime/src/graph/proto.ts';

/** out = x * w + 1 when flag, else x - w, both of shape (N); w is an outer initializer. */
function branchingGraph(): GraphBuilder {
  const g = new GraphBuilder('branching');
  const x = g.input('x', 'float32', ['N']);
  const flag = g.input('flag', 'bool', [1]);
  const w = g.initializer('w', { dtype: 'float32', dims: [1], values: [3] });
  const then = g.subgraph('then');
  then.output(then.add(then.mul(x, w), then.scalar(1, 'float32')));
  const otherwise = g.subgraph('else');
  otherwise.output(otherwise.sub(x, w));
  const [out] = g.ifElse(flag, then, otherwise, ['out']);
  g.output(out!);
  return g;
}

describe('ifElse', () => {
  test('ONNX Runtime runs the branch the condition picks, each reading outer values by name', async () => {
    const session = await ort.InferenceSession.create(toModelBytes(branchingGraph()), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
    try {
      const x = new ort.Tensor('float32', Float32Array.from([1, 2]), [2]);
      const answer = async (flag: boolean): Promise<number[]> => Array.from((await session.run({ x, flag: new ort.Tensor('bool', Uint8Array.from([flag ? 1 : 0]), [1]) })).out!.data as Float32Array);
      expect(await answer(true)).toEqual([4, 7]);
      expect(await answer(false)).toEqual([-2, -1]);
    } finally {
      await session.release();
    }
  });

  test('outputs take the branches\' type; a dimension they disagree on is unknown', () => {
    const g = new GraphBuilder('shapes');
    const x = g.input('x', 'float32', ['B', 4]);
    const flag = g.input('flag', 'bool', [1]);
    const then = g.subgraph('then');
    then.output(then.concat([x, x], 0));
    const otherwise = g.subgraph('else');
    otherwise.output(otherwise.identity(x));
    const [out] = g.ifElse(flag, then, otherwise);
    expect(out).toMatchObject({ dtype: 'float32', shape: ['?', 4] });
  });

  test('refuses a condition that is not one bool, branches that disagree, and inputs in a branch', () => {
    const g = new GraphBuilder('bad');
    const x = g.input('x', 'float32', [2]);
    const flag = g.input('flag', 'bool', [1]);
    const a = g.subgraph('a');
    a.output(a.identity(x));
    const b = g.subgraph('b');
    b.output(b.cast(x, 'int64'));
    expect(() => g.ifElse(x, a, a)).toThrow(/condition x must be a bool tensor of one element, got float32 \(2\)/);
    expect(() => g.ifElse(flag, a, b)).toThrow(/output 0 is float32 \(2\) in then_branch but int64 \(2\) in else_branch/);
    expect(() => g.ifElse(flag, a, g.subgraph('empty'))).toThrow(/has no outputs/);
    expect(() => g.ifElse(flag, a, new GraphBuilder('stranger'))).toThrow(/was not made by subgraph\(\) of graph bad/);
    expect(() => a.input('y', 'float32', [2])).toThrow(/an If branch takes no inputs/);
  });

  test('autodiff refuses a graph with an If instead of missing what its branches read', () => {
    const g = new GraphBuilder('trained');
    const w = g.input('w', 'float32', [2]);
    const flag = g.input('flag', 'bool', [1]);
    const then = g.subgraph('then');
    then.output(then.mul(w, w));
    const otherwise = g.subgraph('else');
    otherwise.output(otherwise.identity(w));
    const [y] = g.ifElse(flag, then, otherwise);
    const loss = g.reduceSum(y!, [0], false);
    expect(() => gradients(g, loss, [w])).toThrow(/trained has an If node .* with subgraphs; autodiff does not differentiate through control flow/);
  });
});
