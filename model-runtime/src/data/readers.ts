/**
 * Low-level streaming readers: the records of one data file with their line numbers, never the
 * whole file in memory.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { DataFile } from './channel-files.ts';
import { DataError } from './data-error.ts';

export interface CsvRecord {
  readonly line: number;
  readonly cells: readonly string[];
}

export interface JsonRecord {
  readonly line: number;
  readonly value: unknown;
}

function open(file: DataFile<string>): Readable {
  const stream = createReadStream(file.path);
  return file.gzip ? stream.pipe(createGunzip()) : stream;
}

export async function* readCsvRecords(file: DataFile<string>): AsyncGenerator<CsvRecord> {
  const parser = open(file).pipe(
    parse({ info: true, relax_column_count: true, skip_empty_lines: true, trim: true, bom: true }),
  );
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      yield { line: item.info.lines, cells: item.record };
    }
  } catch (error) {
    if (error instanceof DataError) throw error;
    const lines = (error as { lines?: number }).lines;
    throw new DataError(`${file.name}${lines ? ` line ${lines}` : ''}: not valid CSV: ${(error as Error).message}`);
  } finally {
    parser.destroy();
  }
}

export async function* readJsonRecords(file: DataFile<string>): AsyncGenerator<JsonRecord> {
  const lines = createInterface({ input: open(file), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw DataError.at(file.name, line, `not valid JSON: ${(error as Error).message}`);
      }
      yield { line, value };
    }
  } finally {
    lines.close();
  }
}
