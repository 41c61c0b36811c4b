import { describe, expect, it } from 'vitest';
import { encodeResponse } from '../../model-runtime/src/serve/encode.ts';
import type { Prediction } from '../../model-runtime/src/serve/predictions.ts';

describe('encodeResponse, JSON and JSON lines', () => {
  // Written out by hand for speed; it must be exactly what JSON.stringify writes.
  const cases: Record<string, Prediction[]> = {
    regression: [1.5, -0, 3e-7, 1e21, Number.NaN, Number.POSITIVE_INFINITY],
    'several targets': [[1, 2.25], [-0.5, Number.NEGATIVE_INFINITY]],
    classification: [
      { label: 'b', probabilities: { b: 0.75, a: 0.25 } },
      // Integer-like keys come first in JSON.stringify's order too; quotes and control characters are escaped.
      { label: 'say "hi"\n', probabilities: { z: 0.1, 10: 0.2, 2: 0.3, 'say "hi"\n': 0.4, 'ü\u0001': 0 } },
    ],
  };

  it.each(Object.entries(cases))('%s', (_, predictions) => {
    expect(encodeResponse(predictions, 'application/json')).toBe(JSON.stringify({ predictions }));
    expect(encodeResponse(predictions, 'application/jsonlines')).toBe(predictions.map((prediction) => `${JSON.stringify(prediction)}\n`).join(''));
  });
});
