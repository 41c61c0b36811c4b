/**
 * Request bodies -> the model's input matrix, for each supported content type.
 *   application/json       {"instances": [row, ...]}, a bare array of rows, or one bare row
 *   text/csv               one row per line, optional header naming the features
 *   application/jsonlines  one row per line
 * A row is an array of numbers in feature order or an object keyed by feature name.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { badRequest } from './http-error.ts';
import { CSV_TYPE, JSON_LINES_TYPE, JSON_TYPE, type MediaType } from './media-types.ts';
import type { FeatureMatrix, FeatureDecoder } from './feature-decoder.ts';

export function decodeRequest(body: string, type: MediaType, decoder: FeatureDecoder): FeatureMatrix {
  switch (type) {
    case JSON_TYPE:
      return decodeJson(body, decoder);
    case CSV_TYPE:
      return decodeCsv(body, decoder);
    case JSON_LINES_TYPE:
      return decodeJsonLines(body, decoder);
  }
}

function decodeJson(body: string, decoder: FeatureDecoder): FeatureMatrix {
  const document = parseJson(body, 'body');
  if (Array.isArray(document)) {
    // One bare row ([1.5, 2]) or a list of rows ([[1.5, 2], ...]).
    const isOneRow = document.length > 0 && document.every((value) => typeof value === 'number');
    if (isOneRow) return decoder.fromJsonRows([document], () => 'body');
    return decoder.fromJsonRows(document, (index) => `row ${index}`);
  }
  if (document !== null && typeof document === 'object' && 'instances' in document) {
    const instances = (document as { instances: unknown }).instances;
    if (!Array.isArray(instances)) throw decoder.error('instances', 'is not an array');
    return decoder.fromJsonRows(instances, (index) => `instances[${index}]`);
  }
  throw decoder.error('body', 'is neither {"instances": [...]} nor an array of rows');
}

function decodeJsonLines(body: string, decoder: FeatureDecoder): FeatureMatrix {
  const lines: { line: number; row: unknown }[] = [];
  body.split('\n').forEach((text, index) => {
    if (text.trim() === '') return;
    lines.push({ line: index + 1, row: parseJson(text, `line ${index + 1}`) });
  });
  return decoder.fromJsonRows(
    lines.map((entry) => entry.row),
    (index) => `line ${lines[index]!.line}`,
  );
}

function decodeCsv(body: string, decoder: FeatureDecoder): FeatureMatrix {
  let records: string[][];
  try {
    records = parseCsv(body, { relax_column_count: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (error) {
    throw badRequest(`body is not valid CSV: ${(error as Error).message}`);
  }
  if (records.length === 0) throw decoder.error('request', 'no rows to predict');
  const { columns, hasHeader } = decoder.csvColumns(records[0]!);
  return decoder.fromTextRows(hasHeader ? records.slice(1) : records, columns, hasHeader ? 2 : 1);
}

export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`${where} is not valid JSON: ${(error as Error).message}`);
  }
}
