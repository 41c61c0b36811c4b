/**
 * The model's output tensor -> what a caller reads: a number per row for regression (an array
 * when there are several targets), a label with every class's probability for classification.
 */
import type { TabularModelDescription } from '../artifact/model-description.ts';

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

export function outputInterpreter(description: TabularModelDescription): OutputInterpreter {
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
 * the float64 widening 5.099999904632568: 6 significant digits, else 7, else 8, else the value
 * itself (9 digits always read back).
 *
 * `Number(value.toPrecision(digits))` gives each candidate, but two or three toPrecision calls
 * per value were most of the time it took to answer a classifier's request; the candidate is
 * computed as round(value * 10^k) / 10^k instead, which is the same double whenever 10^k is exact
 * (k <= 22) and the scaled value is not within rounding error of a tie. Elsewhere toPrecision decides.
 */
export function shortest(value: number): number {
  if (value === 0) return 0; // -0 too: toPrecision spells it "0.00000"
  if (!Number.isFinite(value)) return value;
  const magnitude = Math.abs(value);
  let exponent = Math.floor(Math.log10(magnitude)); // 10^exponent <= magnitude < 10^(exponent + 1)
  if (magnitude < powerOfTen(exponent)) exponent -= 1;
  else if (magnitude >= powerOfTen(exponent + 1)) exponent += 1;
  for (let digits = 6; digits < 9; digits++) {
    const candidate = Math.sign(value) * roundToDigits(magnitude, digits, exponent);
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

/** `magnitude` rounded to `digits` significant digits, as Number(magnitude.toPrecision(digits)) gives it. */
function roundToDigits(magnitude: number, digits: number, exponent: number): number {
  const shift = digits - 1 - exponent; // scaled = magnitude * 10^shift has `digits` digits before the point
  if (shift > 22 || shift < -22) return Number(magnitude.toPrecision(digits));
  const scale = POWERS_OF_TEN[Math.abs(shift)]!;
  const scaled = shift >= 0 ? magnitude * scale : magnitude / scale;
  // The product is off the exact one by far less than 1e-6; only near a tie could that flip the rounding.
  if (Math.abs(scaled - Math.floor(scaled) - 0.5) < 1e-6) return Number(magnitude.toPrecision(digits));
  const rounded = Math.round(scaled);
  return shift >= 0 ? rounded / scale : rounded * scale;
}

/** 10^0 .. 10^22: every one of them exact in float64. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/** 10^exponent as the nearest double, for float32's whole range (1e-46 .. 1e39). */
function powerOfTen(exponent: number): number {
  return DECADES[exponent + 46] ?? Number(`1e${exponent}`);
}
const DECADES = Array.from({ length: 86 }, (_, k) => Number(`1e${k - 46}`));
