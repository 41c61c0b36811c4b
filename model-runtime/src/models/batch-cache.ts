/**
 * The KV cache of a batch of sequences of different lengths, left-padded into one tensor per
 * layer and role, (B, H, W, D) with W the longest row's length:
 *
 *     row 0   . . k k k k      lengths[0] = 4    (. = padding: zeros, masked out)
 *     row 1   k k k k k k      lengths[1] = 6
 *
 * Left padding keeps every row's newest position in the last column, so one decoder step
 * appends one column for all rows alike. The attention mask's zeros hide the padding, and
 * position_ids count each row from its own first token, so a row attends as it would alone.
 *
 * Rows join (prompts prefilled together, each row of their (B', H, L, D) cache packed in) and
 * leave (finished, cancelled) between steps; repacking copies each kept row's real columns and drops the
 * leading columns that only padding still occupies.
 */
import * as ort from 'onnxruntime-node';

/** The sizes a cache tensor has (generation-decoder.ts's DecoderShape has them). */
export interface CacheShape {
  readonly nLayer: number;
  readonly nHead: number;
  readonly headDim: number;
}

export interface BatchCache {
  /** Real positions of each row (its last lengths[r] columns). */
  readonly lengths: readonly number[];
  /** W: columns of every tensor, the longest row's length. */
  readonly width: number;
  /** Per layer, (B, H, W, D). */
  readonly keys: readonly ort.Tensor[];
  readonly values: readonly ort.Tensor[];
}

/** One row of some cache: row `row` of tensors (B', H, W', D) whose last `length` columns are real. */
export interface CacheRow {
  readonly keys: readonly ort.Tensor[];
  readonly values: readonly ort.Tensor[];
  readonly row: number;
  readonly length: number;
}

/** Row r of a batch cache, to repack. */
export function batchRow(cache: BatchCache, row: number): CacheRow {
  return { keys: cache.keys, values: cache.values, row, length: cache.lengths[row]! };
}

/** A lone sequence's cache (1, H, L, D) as a row. */
export function loneRow(cache: { readonly length: number; readonly keys: readonly ort.Tensor[]; readonly values: readonly ort.Tensor[] }): CacheRow {
  return { keys: cache.keys, values: cache.values, row: 0, length: cache.length };
}

/** The rows, in order, left-padded to the longest one's length. */
export function packRows(rows: readonly CacheRow[], shape: CacheShape): BatchCache {
  const { nLayer, nHead, headDim } = shape;
  const lengths = rows.map((r) => r.length);
  const width = Math.max(0, ...lengths);
  const pack = (sources: (row: CacheRow) => ort.Tensor): ort.Tensor => {
    const data = new Float32Array(rows.length * nHead * width * headDim); // zeros: the padding
    rows.forEach((row, b) => {
      const source = sources(row);
      const [, heads, sourceWidth, d] = source.dims as [number, number, number, number];
      if (heads !== nHead || d !== headDim || row.length > sourceWidth) {
        throw new Error(`batch cache: a row of ${row.length} positions in a tensor (${source.dims.join(', ')}) does not fit (B, ${nHead}, >= ${row.length}, ${headDim})`);
      }
      const from = source.data as Float32Array;
      for (let h = 0; h < nHead; h++) {
        // The row's real columns are contiguous per head: the last `length` of its width.
        const start = ((row.row * nHead + h) * sourceWidth + (sourceWidth - row.length)) * headDim;
        const at = ((b * nHead + h) * width + (width - row.length)) * headDim;
        data.set(from.subarray(start, start + row.length * headDim), at);
      }
    });
    return new ort.Tensor('float32', data, [rows.length, nHead, width, headDim]);
  };
  return {
    lengths,
    width,
    keys: Array.from({ length: nLayer }, (_, i) => pack((row) => row.keys[i]!)),
    values: Array.from({ length: nLayer }, (_, i) => pack((row) => row.values[i]!)),
  };
}

/** (B, W + 1) int64: 0 over each row's padding, 1 over its positions and the one being fed. */
export function batchAttentionMask(cache: BatchCache): ort.Tensor {
  const columns = cache.width + 1;
  const mask = new BigInt64Array(cache.lengths.length * columns);
  cache.lengths.forEach((length, b) => mask.fill(1n, b * columns + (cache.width - length), (b + 1) * columns));
  return new ort.Tensor('int64', mask, [cache.lengths.length, columns]);
}
