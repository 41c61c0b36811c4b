import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';

describe('toolchain', () => {
  it('loads the ONNX Runtime CPU binary that ships in the npm package', () => {
    expect(ort.env.versions.node).toBe('1.30.0');
  });
});
