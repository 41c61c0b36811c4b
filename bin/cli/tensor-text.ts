/**
 * One ONNX tensor as the CLI prints it: `input float32 (?, 512)`, a dynamic axis the file leaves
 * unnamed shown as `?`. Shared by `modelstack package` and `modelstack inspect`, so the two print
 * the same model the same way.
 */
import type { TensorSpec } from '../../model-runtime/src/artifact/model-description.ts';

export function tensorText(t: TensorSpec): string {
  return `${t.name} ${t.dtype} (${t.shape.map((d) => (d === '' ? '?' : d)).join(', ')})`;
}
