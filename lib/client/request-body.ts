/**
 * Rows -> an /invocations request body the runtime decodes (model-runtime/src/serve/decode.ts):
 *   json  {"instances": [row, ...]}, rows as arrays in feature order or objects keyed by feature name
 *   csv   one line per row; rows given as objects get a header line naming the features
 */
import { stringify } from 'csv-stringify/sync';
import { EndpointError } from './endpoint-error.ts';

/** One row of features: values in the model's feature order, or keyed by feature name. */
export type FeatureRow = readonly number[] | Readonly<Record<string, number>>;

export type RequestFormat = 'json' | 'csv';

export const CONTENT_TYPES: Readonly<Record<RequestFormat, string>> = {
  json: 'application/json',
  csv: 'text/csv',
};

export function encodeRows(rows: readonly FeatureRow[], format: RequestFormat): string {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new EndpointError('validation', 'no rows to predict: pass an array of at least one row, e.g. [[1.5, 2.0]] or [{ x: 1.5 }]', undefined);
  }
  if (format === 'json') return JSON.stringify({ instances: rows });
  return encodeCsv(rows);
}

function encodeCsv(rows: readonly FeatureRow[]): string {
  const first = rows[0]!;
  if (isValues(first)) {
    const records = rows.map((row, index) => {
      if (!isValues(row)) throw mixedRows(index);
      return row;
    });
    return stringify(records as number[][]);
  }
  // Objects: one header from the first row's names; every row must name the same features.
  const names = Object.keys(first);
  const records = rows.map((row, index) => {
    if (isValues(row)) throw mixedRows(index);
    const keys = Object.keys(row);
    const extra = keys.filter((key) => !names.includes(key));
    const missing = names.filter((name) => !(name in row));
    if (extra.length > 0 || missing.length > 0) {
      const problems = [missing.length > 0 ? `lacks ${missing.join(', ')}` : '', extra.length > 0 ? `adds ${extra.join(', ')}` : ''].filter(Boolean);
      throw new EndpointError('validation', `row ${index} ${problems.join(' and ')}: as CSV, every row must name the same features as row 0 (${names.join(', ')})`, undefined);
    }
    return names.map((name) => row[name]);
  });
  return stringify([names, ...records]);
}

function isValues(row: FeatureRow): row is readonly number[] {
  return Array.isArray(row);
}

function mixedRows(index: number): EndpointError {
  return new EndpointError('validation', `row ${index} is shaped unlike row 0 (one is an array, the other an object): as CSV, give every row as an array of values or every row as an object keyed by feature name`, undefined);
}
