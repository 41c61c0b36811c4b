/**
 * Data files -> rows of (numeric features, label text), with the column layout worked out from
 * the first file and checked in every later one.
 *
 * CSV: the label is the first column (SageMaker's built-in algorithms' convention) unless
 * label_column names another. A first row is a header when one of its cells is not a number
 * where the next row has a number (a header of names over numeric data); a single-row file's
 * first row is a header when none of its cells is a number.
 *
 * JSON Lines: `{"features": [..numbers], "label": x}`, or flat objects whose every key except
 * the label key (`label`, or label_column) is a numeric feature, in the first object's key order.
 */
import type { DataFile } from './channel-files.ts';
import { DataError } from './data-error.ts';
import { FLOAT32_RANGE, fitsFloat32, parseDecimal } from '../numbers.ts';
import { readCsvRecords, readJsonRecords, type CsvRecord } from './readers.ts';

/** The column layout every file of the run must share. */
export interface TableSchema {
  readonly features: readonly string[];
  readonly label: string;
}

export interface Row {
  readonly file: string;
  readonly line: number;
  /** (F) raw feature values. */
  readonly features: Float64Array;
  /** The label as written (numbers in canonical form: "1.0" -> "1"). */
  readonly label: string;
}

const DEFAULT_JSON_LABEL = 'label';

/** Names for features that have none (CSV without a header, JSON `features` arrays). */
export function positionalFeatureName(index: number): string {
  return `feature_${index}`;
}

/**
 * Reads rows from files in order. The schema is taken from `expected` (rows of a validation
 * channel must match training) or from the first file; `onSchema` reports how it was read.
 */
export class TableReader {
  private schemaValue: TableSchema | null;

  constructor(
    private readonly labelColumn: string | null,
    expected: TableSchema | null = null,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.schemaValue = expected;
  }

  get schema(): TableSchema {
    if (this.schemaValue === null) throw new Error('no data has been read yet');
    return this.schemaValue;
  }

  async *rows(files: readonly DataFile[]): AsyncGenerator<Row> {
    for (const file of files) {
      if (file.contentType === 'text/csv') yield* this.csvRows(file);
      else yield* this.jsonRows(file);
    }
  }

  private async *csvRows(file: DataFile): AsyncGenerator<Row> {
    const records = readCsvRecords(file);
    const first = await records.next();
    if (first.done) return;
    const second = await records.next();
    const hasHeader = looksLikeHeader(first.value.cells, second.done ? null : second.value.cells);
    const layout = this.csvLayout(file, first.value, hasHeader);
    if (!hasHeader) yield csvRow(file, first.value, layout);
    if (!second.done) yield csvRow(file, second.value, layout);
    for await (const record of records) yield csvRow(file, record, layout);
  }

  /** Which CSV column is the label and which are features, checked against the schema. */
  private csvLayout(file: DataFile, first: CsvRecord, hasHeader: boolean): CsvLayout {
    const columns = first.cells.length;
    if (columns < 2) {
      throw DataError.at(file.name, first.line, `${columns} column; expected a label and at least one feature`);
    }
    const names = hasHeader ? first.cells.map((cell) => cell) : null;
    let labelIndex = 0;
    if (this.labelColumn !== null) {
      const byName = names?.indexOf(this.labelColumn) ?? -1;
      const byIndex = parseDecimal(this.labelColumn);
      if (byName >= 0) labelIndex = byName;
      else if (byIndex !== undefined && Number.isInteger(byIndex) && byIndex >= 0 && byIndex < columns) labelIndex = byIndex;
      else if (names !== null) {
        throw new DataError(`label_column "${this.labelColumn}" is not a column of ${file.name}; its header has: ${names.join(', ')}`);
      } else {
        throw new DataError(
          `label_column "${this.labelColumn}" does not fit ${file.name}, which has no header row and ${columns} columns; give a 0-based column index below ${columns}, or add a header`,
        );
      }
    }
    const featureIndices = [...Array(columns).keys()].filter((i) => i !== labelIndex);
    const schema: TableSchema = {
      label: names ? names[labelIndex]! : 'label',
      features: featureIndices.map((i, position) => (names ? names[i]! : positionalFeatureName(position))),
    };
    this.adoptSchema(file, schema, hasHeader ? 'CSV with a header row' : 'CSV without a header row', `column ${labelIndex}`);
    return { columns, labelIndex, featureIndices, names: schema.features, headerLine: hasHeader ? first.line : null };
  }

  private async *jsonRows(file: DataFile): AsyncGenerator<Row> {
    const labelKey = this.labelColumn ?? DEFAULT_JSON_LABEL;
    let layout: 'nested' | 'flat' | null = null;
    let keys: string[] = [];
    for await (const { line, value } of readJsonRecords(file)) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw DataError.at(file.name, line, `expected a JSON object like {"features": [1.5, 2], "${labelKey}": "cat"}`);
      }
      const object = value as Record<string, unknown>;
      if (!(labelKey in object)) {
        throw DataError.at(file.name, line, `no "${labelKey}" key; expected the label under "${labelKey}" (set label_column to use another key)`);
      }
      if (layout === null) {
        layout = Array.isArray(object.features) ? 'nested' : 'flat';
        keys = layout === 'flat' ? Object.keys(object).filter((key) => key !== labelKey) : [];
        const count = layout === 'nested' ? (object.features as unknown[]).length : keys.length;
        if (count === 0) throw DataError.at(file.name, line, 'no features; expected at least one');
        const schema: TableSchema = {
          label: labelKey,
          features: layout === 'nested' ? [...Array(count).keys()].map(positionalFeatureName) : keys,
        };
        this.adoptSchema(file, schema, layout === 'nested' ? 'JSON Lines with a "features" array' : 'JSON Lines objects', `key "${labelKey}"`);
      }
      const width = this.schema.features.length;
      const features = new Float64Array(width);
      if (layout === 'nested') {
        const list = object.features;
        if (!Array.isArray(list) || list.length !== width) {
          throw DataError.at(file.name, line, `"features" has ${Array.isArray(list) ? list.length : 'no'} values; expected an array of ${width} numbers`);
        }
        for (let i = 0; i < width; i++) features[i] = jsonNumber(list[i], file, line, `features[${i}]`);
      } else {
        for (let i = 0; i < width; i++) {
          const key = keys[i]!;
          if (!(key in object)) throw DataError.at(file.name, line, `no "${key}" key; every object needs the keys ${keys.join(', ')}`);
          features[i] = jsonNumber(object[key], file, line, `"${key}"`);
        }
        if (Object.keys(object).length !== width + 1) {
          const unexpected = Object.keys(object).filter((key) => key !== labelKey && !keys.includes(key));
          throw DataError.at(file.name, line, `unexpected key ${unexpected.map((k) => `"${k}"`).join(', ')}; expected only ${[...keys, labelKey].join(', ')}`);
        }
      }
      yield { file: file.name, line, features, label: labelText(object[labelKey], file, line) };
    }
  }

  /** The first file fixes the schema; later files (and the validation channel) must match it. */
  private adoptSchema(file: DataFile, schema: TableSchema, how: string, labelWhere: string): void {
    if (this.schemaValue === null) {
      this.schemaValue = schema;
      this.log(
        `data: ${file.name} read as ${how}; label "${schema.label}" (${labelWhere}); ${schema.features.length} feature${schema.features.length === 1 ? '' : 's'}: ${preview(schema.features)}`,
      );
      return;
    }
    const expected = this.schemaValue;
    if (expected.features.length !== schema.features.length) {
      throw new DataError(
        `${file.name} has ${schema.features.length} feature${schema.features.length === 1 ? '' : 's'}; expected ${expected.features.length} (${preview(expected.features)}) like the training data`,
      );
    }
    const positional = (names: readonly string[]) => names.every((name, i) => name === positionalFeatureName(i));
    if (!positional(schema.features) && !positional(expected.features)) {
      const differs = schema.features.findIndex((name, i) => name !== expected.features[i]);
      if (differs >= 0) {
        throw new DataError(
          `${file.name} has feature "${schema.features[differs]}" where the training data has "${expected.features[differs]}"; features must come in the same order`,
        );
      }
    }
  }
}

interface CsvLayout {
  readonly columns: number;
  readonly labelIndex: number;
  readonly featureIndices: readonly number[];
  readonly names: readonly string[];
  readonly headerLine: number | null;
}

function csvRow(file: DataFile, record: CsvRecord, layout: CsvLayout): Row {
  const { cells, line } = record;
  if (cells.length !== layout.columns) {
    throw DataError.at(
      file.name,
      line,
      `${cells.length} column${cells.length === 1 ? '' : 's'}; expected ${layout.columns} (the label and ${layout.columns - 1} feature${layout.columns === 2 ? '' : 's'}${layout.headerLine !== null ? ', as in the header' : ', as in the first row'})`,
    );
  }
  const features = new Float64Array(layout.featureIndices.length);
  for (let i = 0; i < features.length; i++) {
    const cell = cells[layout.featureIndices[i]!]!;
    const value = parseDecimal(cell);
    if (value === undefined) {
      throw DataError.at(file.name, line, `feature "${layout.names[i]}" is ${JSON.stringify(cell)}; expected a number`);
    }
    if (!fitsFloat32(value)) {
      throw DataError.at(file.name, line, `feature "${layout.names[i]}" is ${JSON.stringify(cell)}; expected a number within float32 range (${FLOAT32_RANGE})`);
    }
    features[i] = value;
  }
  const label = cells[layout.labelIndex]!;
  if (label === '') throw DataError.at(file.name, line, 'the label is empty; expected a value');
  return { file: file.name, line, features, label: canonicalLabel(label) };
}

/** A header is names over numbers: some first-row cell is not a number where the second row has one. */
function looksLikeHeader(first: readonly string[], second: readonly string[] | null): boolean {
  const numeric = (cell: string | undefined) => cell !== undefined && parseDecimal(cell) !== undefined;
  if (second === null) return first.every((cell) => !numeric(cell));
  return first.some((cell, i) => !numeric(cell) && numeric(second[i]));
}

function jsonNumber(value: unknown, file: DataFile, line: number, what: string): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' ? parseDecimal(value.trim()) : undefined;
  if (number === undefined || !Number.isFinite(number)) {
    throw DataError.at(file.name, line, `${what} is ${JSON.stringify(value)}; expected a number`);
  }
  if (!fitsFloat32(number)) {
    throw DataError.at(file.name, line, `${what} is ${JSON.stringify(value)}; expected a number within float32 range (${FLOAT32_RANGE})`);
  }
  return number;
}

function labelText(value: unknown, file: DataFile, line: number): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string' && value.trim() !== '') return canonicalLabel(value.trim());
  throw DataError.at(file.name, line, `the label is ${JSON.stringify(value)}; expected a number or a non-empty string`);
}

/** "1.0", "+1" and "1" are the same class. */
function canonicalLabel(text: string): string {
  const number = parseDecimal(text);
  return number === undefined ? text : String(number);
}

function preview(names: readonly string[]): string {
  return names.length <= 8 ? names.join(', ') : `${names.slice(0, 8).join(', ')}, ... (${names.length})`;
}
