/**
 * The model's output tensor -> what a caller reads: a number per row for regression (an array
 * when there are several targets), a label with every class's probability for classification.
 */
import type { ModelDescription } from '../artifact/model-description.ts';

export interface ClassPrediction {
  readonly label: string;
  readonly probabilities: Readonly<Record<string, number>>;
}

export type Prediction = number | readonly number[] | ClassPrediction;

export interface OutputInterpreter {
  /** Values per row in the `output` tensor: T for regression, K for classification. */
  readonly width: number;
  interpret(output: Float32Array, count: number): Prediction[]; // output (count, width)
}

export function outputInterpreter(description: ModelDescription): OutputInterpreter {
  const labels = description.labels;
  if (description.task === 'regression' || labels === null) {
    const width = Math.max(1, description.targets.length);
    return {
      width,
      interpret: (output, count) =>
        Array.from({ length: count }, (_, row) =>
          width === 1
            ? shortest(output[row]!)
            : Array.from(output.subarray(row * width, (row + 1) * width), shortest),
        ),
    };
  }
  const width = labels.length;
  return {
    width,
    interpret: (output, count) =>
      Array.from({ length: count }, (_, row) => {
        const probabilities: Record<string, number> = {};
        let best = 0;
        for (let k = 0; k < width; k++) {
          const p = output[row * width + k]!;
          probabilities[labels[k]!] = shortest(p);
          if (p > output[row * width + best]!) best = k;
        }
        return { label: labels[best]!, probabilities };
      }),
  };
}

/**
 * The shortest decimal that reads back as the same float32, so 5.1 prints as 5.1 rather than
 * the float64 widening 5.099999904632568.
 */
export function shortest(value: number): number {
  for (let digits = 6; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}
