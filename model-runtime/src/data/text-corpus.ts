/**
 * A channel's text, as documents: what the text models train on.
 *
 *   .txt (text/plain)              one document per file, the whole file
 *   .jsonl (application/jsonlines) one document per line: an object whose `text_column` key holds
 *                                  the text (and `label_column` the label, when labels are read);
 *                                  without labels a line may also be a bare JSON string
 *   .csv (text/csv)                a header naming the text column (and the label column), then
 *                                  one document per record
 *
 * Files may be gzipped (.gz). Every file is read whole and decoded as strict UTF-8, so Latin-1 or
 * UTF-16 text is refused naming the file and the first bad byte, instead of training on U+FFFD.
 * Each bad record is a DataError naming the file, the line and what was expected, so the job's
 * failure reason reads "Invalid training data: ...".
 */
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { TEXT_CONTENT_TYPE_ALIASES, type TextContentType } from '../contract/hyperparameters.ts';
import { decodeUtf8 } from '../text/utf8.ts';
import { TokenizerError } from '../text/text-error.ts';
import { listChannelFiles, type ChannelFormats, type DataFile } from './channel-files.ts';
import { DataError } from './data-error.ts';

export interface TextDocument {
  readonly text: string;
  /** The label as text (numbers and booleans as JSON writes them); null when labels are not read. */
  readonly label: string | null;
  /** `train/reviews.jsonl line 12`, for messages. */
  readonly where: string;
}

export interface TextCorpusOptions {
  /** The JSON Lines key / CSV header of the text. */
  readonly textColumn: string;
  /** The key / header of the label; null: labels are not read (a language model's text). */
  readonly labelColumn: string | null;
  /** The content_type hyperparameter, else the channel's ContentType, else null (by extension). */
  readonly contentType: string | null;
}

export const TEXT_FORMATS: ChannelFormats<TextContentType> = {
  extensions: {
    '.txt': 'text/plain',
    '.text': 'text/plain',
    '.csv': 'text/csv',
    '.jsonl': 'application/jsonlines',
    '.jsonlines': 'application/jsonlines',
    '.ndjson': 'application/jsonlines',
  },
  aliases: TEXT_CONTENT_TYPE_ALIASES,
  typesText: 'text/plain, text/csv or application/jsonlines (or application/x-jsonlines)',
  extensionsText: '.txt, .csv or .jsonl',
};

/**
 * The channel's documents in file order, or null when the channel folder does not exist. An
 * empty text is refused when labels are read (a labelled example with nothing to classify is a
 * mistake in the data) and skipped otherwise (an empty file adds nothing to a corpus); a
 * channel with no document at all is refused.
 */
export async function readTextCorpus(dir: string, channel: string, options: TextCorpusOptions): Promise<TextDocument[] | null> {
  const files = await listChannelFiles(dir, channel, options.contentType, TEXT_FORMATS);
  if (files === null) return null;
  const documents: TextDocument[] = [];
  for (const file of files) {
    const text = await readTextFile(file);
    switch (file.contentType) {
      case 'text/plain':
        if (options.labelColumn !== null) {
          throw new DataError(
            `${file.name} is plain text, which has no labels; a text classifier reads JSON Lines ({"${options.textColumn}": ..., "${options.labelColumn}": ...}) or CSV with a header naming the ${options.textColumn} and ${options.labelColumn} columns`,
          );
        }
        if (text !== '') documents.push({ text, label: null, where: file.name });
        break;
      case 'application/jsonlines':
        documents.push(...jsonLinesDocuments(file, text, options));
        break;
      case 'text/csv':
        documents.push(...csvDocuments(file, text, options));
        break;
    }
  }
  if (documents.length === 0) {
    throw new DataError(`the ${channel} channel (${dir}) holds no text: ${files.map((f) => f.name).join(', ')} ${files.length === 1 ? 'is' : 'are'} empty; give it at least one document`);
  }
  return documents;
}

async function readTextFile(file: DataFile<TextContentType>): Promise<string> {
  let bytes: Uint8Array = await readFile(file.path);
  if (file.gzip) {
    try {
      bytes = await promisify(gunzip)(bytes);
    } catch (error) {
      throw new DataError(`${file.name}: not a valid gzip file (${(error as Error).message})`);
    }
  }
  try {
    return decodeUtf8(bytes, file.name);
  } catch (error) {
    if (error instanceof TokenizerError) throw new DataError(error.message);
    throw error;
  }
}

function* jsonLinesDocuments(file: DataFile<TextContentType>, content: string, options: TextCorpusOptions): Generator<TextDocument> {
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw DataError.at(file.name, i + 1, `not valid JSON: ${(error as Error).message}`);
    }
    const where = `${file.name} line ${i + 1}`;
    if (typeof value === 'string' && options.labelColumn === null) {
      if (value !== '') yield { text: value, label: null, where };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw DataError.at(file.name, i + 1, `expected a JSON object with a "${options.textColumn}" key${options.labelColumn === null ? ' (or a JSON string)' : ` and a "${options.labelColumn}" key`}, got ${describeJson(value)}`);
    }
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (!Object.hasOwn(record, options.textColumn)) {
      throw DataError.at(file.name, i + 1, `no "${options.textColumn}" key (it has ${keys.map((k) => JSON.stringify(k)).join(', ') || 'none'}); set text_column to the key that holds the text`);
    }
    const text = record[options.textColumn];
    if (typeof text !== 'string') throw DataError.at(file.name, i + 1, `"${options.textColumn}" is ${describeJson(text)}; expected a string`);
    const label = options.labelColumn === null ? null : jsonLabel(record, options.labelColumn, keys, file.name, i + 1);
    if (text === '') {
      if (label !== null) throw DataError.at(file.name, i + 1, `"${options.textColumn}" is the empty string; every labelled example needs some text`);
      continue;
    }
    yield { text, label, where };
  }
}

function jsonLabel(record: Record<string, unknown>, column: string, keys: readonly string[], file: string, line: number): string {
  if (!Object.hasOwn(record, column)) {
    throw DataError.at(file, line, `no "${column}" key (it has ${keys.map((k) => JSON.stringify(k)).join(', ')}); set label_column to the key that holds the label`);
  }
  const label = record[column];
  if (typeof label === 'string' && label !== '') return label;
  if ((typeof label === 'number' && Number.isFinite(label)) || typeof label === 'boolean') return JSON.stringify(label);
  throw DataError.at(file, line, `"${column}" is ${describeJson(label)}; expected a class name (a non-empty string, a number or a boolean)`);
}

function* csvDocuments(file: DataFile<TextContentType>, content: string, options: TextCorpusOptions): Generator<TextDocument> {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // No trim: leading and trailing spaces are part of a text.
    records = parseCsv(content, { info: true, relax_column_count: true, skip_empty_lines: true, bom: true }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    const lines = (error as { lines?: number }).lines;
    throw new DataError(`${file.name}${lines ? ` line ${lines}` : ''}: not valid CSV: ${(error as Error).message}`);
  }
  if (records.length === 0) return;
  const header = records[0]!.record.map((cell) => cell.trim());
  const column = (name: string, what: string, setting: string): number => {
    const index = header.indexOf(name);
    if (index < 0) {
      throw DataError.at(file.name, records[0]!.info.lines, `the header (${header.map((h) => JSON.stringify(h)).join(', ')}) has no ${what} column "${name}"; name it in the first line, or set ${setting} to the header of the ${what}`);
    }
    return index;
  };
  const textIndex = column(options.textColumn, 'text', 'text_column');
  const labelIndex = options.labelColumn === null ? null : column(options.labelColumn, 'label', 'label_column');
  for (const { record, info } of records.slice(1)) {
    const text = record[textIndex];
    if (text === undefined) throw DataError.at(file.name, info.lines, `the record has ${record.length} fields; the text is field ${textIndex + 1} ("${options.textColumn}")`);
    let label: string | null = null;
    if (labelIndex !== null) {
      label = record[labelIndex]?.trim() ?? '';
      if (label === '') throw DataError.at(file.name, info.lines, `no label in column "${options.labelColumn}"; every example needs one`);
    }
    if (text === '') {
      if (label !== null) throw DataError.at(file.name, info.lines, `the "${options.textColumn}" field is empty; every labelled example needs some text`);
      continue;
    }
    yield { text, label, where: `${file.name} line ${info.lines}` };
  }
}

function describeJson(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
