/**
 * The feature decoder: turns decoded request rows (arrays of numbers, or objects keyed by feature name) into the
 * model's input matrix, with a 400 that says exactly which row and value was wrong and what the
 * model expects instead.
 */
import { FLOAT32_RANGE, fitsFloat32 } from '../numbers.ts';
import { badRequest, type HttpError } from './http-error.ts';

/** The model input: `count` rows of `features.length` float32 values, row-major. */
export interface FeatureMatrix {
  readonly count: number;
  readonly values: Float32Array; // (count, F)
}

export class FeatureDecoder {
  private readonly width: number;
  private readonly columnOf: ReadonlyMap<string, number>;

  constructor(readonly features: readonly string[]) {
    this.width = features.length;
    this.columnOf = new Map(features.map((name, column) => [name, column]));
  }

  /** The shape a request must have, for error messages. */
  expectedShape(): string {
    const names = this.features.join(', ');
    return `expected rows of ${this.width} feature${this.width === 1 ? '' : 's'} [${names}]: ` +
      `{"instances": [[${this.features.map(() => 'number').join(', ')}], ...]}, a bare array of such rows, ` +
      `or rows as objects keyed by feature name`;
  }

  error(where: string, problem: string): HttpError {
    return badRequest(`${where}: ${problem}; ${this.expectedShape()}.`);
  }

  /** Writes decoded JSON rows into a matrix; `where(i)` names row i in messages (`instances[3]`, `line 4`). */
  fromJsonRows(rows: readonly unknown[], where: (index: number) => string): FeatureMatrix {
    if (rows.length === 0) throw this.error('request', 'no rows to predict');
    const values = new Float32Array(rows.length * this.width);
    for (let index = 0; index < rows.length; index++) this.writeJsonRow(rows[index], values, index, where);
    return { count: rows.length, values };
  }

  /** Writes CSV records (strings) into a matrix; `columns[j]` is the feature column of CSV field j. */
  fromTextRows(records: readonly (readonly string[])[], columns: readonly number[], firstLine: number): FeatureMatrix {
    if (records.length === 0) throw this.error('request', 'no rows to predict');
    const values = new Float32Array(records.length * this.width);
    records.forEach((record, index) => {
      const where = `line ${firstLine + index}`;
      if (record.length !== this.width) {
        throw this.error(where, `has ${record.length} value${record.length === 1 ? '' : 's'}`);
      }
      record.forEach((cell, field) => {
        const value = cell.trim() === '' ? Number.NaN : Number(cell);
        if (!Number.isFinite(value)) {
          throw this.error(where, `value ${JSON.stringify(cell)} for feature '${this.features[columns[field]!]}' is not a finite number`);
        }
        if (!fitsFloat32(value)) {
          throw this.error(where, `value ${JSON.stringify(cell)} for feature '${this.features[columns[field]!]}' is beyond float32 (${FLOAT32_RANGE})`);
        }
        values[index * this.width + columns[field]!] = value;
      });
    });
    return { count: records.length, values };
  }

  /** CSV columns in feature order, or a header row naming each feature (any order). */
  csvColumns(firstRecord: readonly string[]): { readonly columns: readonly number[]; readonly hasHeader: boolean } {
    const inOrder = this.features.map((_, column) => column);
    // A header has no numbers in it; a data row with one bad cell is reported as a bad value.
    const looksLikeHeader = firstRecord.every((cell) => cell.trim() !== '' && !Number.isFinite(Number(cell)));
    if (!looksLikeHeader) return { columns: inOrder, hasHeader: false };
    const columns = firstRecord.map((name) => {
      const column = this.columnOf.get(name.trim());
      if (column === undefined) throw this.error('header line 1', `'${name.trim()}' is not a feature of this model`);
      return column;
    });
    const missing = this.features.filter((_, column) => !columns.includes(column));
    if (missing.length > 0 || columns.length !== this.width) {
      throw this.error('header line 1', `missing feature${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`);
    }
    return { columns, hasHeader: true };
  }

  // The `where` of a message is only spelled out when there is a message: on the success path a
  // string per row and per value (`instances[0][31]`) was much of the decoding time.
  private writeJsonRow(row: unknown, values: Float32Array, index: number, where: (index: number) => string): void {
    const offset = index * this.width;
    if (Array.isArray(row)) {
      this.writeArray(row, values, offset, where, index, '');
      return;
    }
    if (row === null || typeof row !== 'object') {
      throw this.error(where(index), `is ${describe(row)}, not a row`);
    }
    const record = row as Record<string, unknown>;
    // SageMaker's built-in algorithms' JSON row shape: {"features": [...]}.
    if (!this.columnOf.has('features') && Array.isArray(record.features) && Object.keys(record).length === 1) {
      this.writeArray(record.features, values, offset, where, index, '.features');
      return;
    }
    for (const key of Object.keys(record)) {
      if (!this.columnOf.has(key)) throw this.error(where(index), `'${key}' is not a feature of this model`);
    }
    for (let column = 0; column < this.width; column++) {
      const name = this.features[column]!;
      if (!(name in record)) throw this.error(where(index), `is missing feature '${name}'`);
      const value = record[name];
      const problem = float32Problem(value);
      if (problem !== undefined) throw this.error(`${where(index)}.${name}`, problem);
      values[offset + column] = value as number;
    }
  }

  /** `suffix`: what follows the row's name in messages (`.features` for {"features": [...]} rows). */
  private writeArray(row: readonly unknown[], values: Float32Array, offset: number, where: (index: number) => string, index: number, suffix: string): void {
    if (row.length !== this.width) {
      throw this.error(`${where(index)}${suffix}`, `has ${row.length} value${row.length === 1 ? '' : 's'}`);
    }
    for (let column = 0; column < this.width; column++) {
      const value = row[column];
      const problem = float32Problem(value);
      if (problem !== undefined) throw this.error(`${where(index)}${suffix}[${column}]`, problem);
      values[offset + column] = value as number;
    }
  }
}

/**
 * What is wrong with a JSON value as the float32 model.onnx reads, or undefined when nothing is:
 * beyond float32's range it would be Infinity there, and the answer NaN.
 */
function float32Problem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return `is ${describe(value)}, not a finite number`;
  if (!fitsFloat32(value)) return `is ${describe(value)}, beyond float32 (${FLOAT32_RANGE})`;
  return undefined;
}

function describe(value: unknown): string {
  // JSON.stringify writes Infinity (JSON.parse's reading of 1e400) as "null".
  const text = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
