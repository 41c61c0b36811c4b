/**
 * Static shape arithmetic for the builder: numpy-style broadcasting, and the axes along which a
 * broadcast input's gradient has to be summed to get back to the input's own shape.
 */
import type { Dim, Shape } from './types.ts';

/** The shape of an elementwise op's output under numpy broadcasting (dimensions aligned right). */
export function broadcastShapes(...shapes: Shape[]): Shape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const shape of shapes) {
      const d = shape[shape.length - rank + i];
      if (d === undefined || d === 1) continue;
      if (dim === 1) dim = d;
      else if (dim !== d) {
        // A symbol against a number: the number wins (the symbol must resolve to it at run time).
        if (typeof dim === 'string' && typeof d === 'number') dim = d;
        else if (!(typeof dim === 'number' && typeof d === 'string')) {
          throw new Error(`cannot broadcast shapes ${shapes.map(formatShape).join(' and ')}: dimension ${i} is ${dim} vs ${d}`);
        }
      }
    }
    out.push(dim);
  }
  return out;
}

/**
 * How to reduce a gradient of shape `outShape` back to an input of shape `inShape`:
 * `leading` axes exist only in the output (sum and drop them), `kept` axes were 1 in the input
 * but larger in the output (sum and keep them as 1).
 */
export function broadcastReduction(inShape: Shape, outShape: Shape): { leading: number[]; kept: number[] } {
  const leading: number[] = [];
  const offset = outShape.length - inShape.length;
  for (let i = 0; i < offset; i++) leading.push(i);
  const kept: number[] = [];
  for (let i = 0; i < inShape.length; i++) {
    if (inShape[i] === 1 && outShape[i + offset] !== 1) kept.push(i);
  }
  return { leading, kept };
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: Shape): string {
  return `(${shape.join(', ')})`;
}

/** Normalises a possibly negative axis against a rank, naming the op when out of range. */
export function normalizeAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Number of elements when every dimension is fixed, else null. */
export function staticSize(shape: Shape): number | null {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return null;
    n *= d;
  }
  return n;
}
