/**
 * The files of one input channel (every regular file under input/data/<channel>/, in name
 * order) and the format each is read as.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { CONTENT_TYPE_ALIASES, type ContentType } from '../contract/hyperparameters.ts';
import { DataError } from './data-error.ts';

export interface DataFile<T extends string = ContentType> {
  readonly path: string;
  /** Path relative to the channel folder, for messages. */
  readonly name: string;
  readonly contentType: T;
  readonly gzip: boolean;
  readonly size: number;
}

/** Which formats a reader takes: by file extension, and by the content type names users write. */
export interface ChannelFormats<T extends string> {
  readonly extensions: Readonly<Record<string, T>>;
  readonly aliases: Readonly<Record<string, T>>;
  /** For messages: `text/csv or application/jsonlines (or application/x-jsonlines)`. */
  readonly typesText: string;
  /** For messages: `.csv or .jsonl`. */
  readonly extensionsText: string;
}

/** The table formats: CSV and JSON Lines. */
export const TABLE_FORMATS: ChannelFormats<ContentType> = {
  extensions: {
    '.csv': 'text/csv',
    '.jsonl': 'application/jsonlines',
    '.jsonlines': 'application/jsonlines',
    '.ndjson': 'application/jsonlines',
  },
  aliases: CONTENT_TYPE_ALIASES,
  typesText: 'text/csv or application/jsonlines (or application/x-jsonlines)',
  extensionsText: '.csv or .jsonl',
};

/**
 * @param configured the content_type hyperparameter, else the channel's ContentType from
 *   inputdataconfig.json (raw text, aliases allowed), else null to go by file extension.
 * @returns null when the channel folder does not exist.
 */
export async function listChannelFiles(dir: string, channel: string, configured: string | null): Promise<DataFile[] | null>;
export async function listChannelFiles<T extends string>(dir: string, channel: string, configured: string | null, formats: ChannelFormats<T>): Promise<DataFile<T>[] | null>;
export async function listChannelFiles(
  dir: string,
  channel: string,
  configured: string | null,
  formats: ChannelFormats<string> = TABLE_FORMATS,
): Promise<DataFile<string>[] | null> {
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let forced: string | null = null;
  if (configured !== null) {
    forced = formats.aliases[configured.toLowerCase().split(';')[0]!.trim()] ?? null;
    if (forced === null) {
      throw new DataError(`channel ${channel} has content type "${configured}"; expected ${formats.typesText}`);
    }
  }
  const files: DataFile<string>[] = [];
  for (const entry of entries.sort()) {
    const name = entry.split(path.sep).join('/');
    // Hidden files (.DS_Store, .gitkeep, SageMaker's .manifest sidecars) are not data.
    if (name.split('/').some((part) => part.startsWith('.'))) continue;
    const full = path.join(dir, entry);
    const info = await stat(full);
    if (!info.isFile()) continue;
    const gzip = name.endsWith('.gz');
    const extension = path.extname(gzip ? name.slice(0, -3) : name).toLowerCase();
    const contentType = forced ?? formats.extensions[extension];
    if (contentType === undefined) {
      throw new DataError(
        `cannot tell the format of ${channel}/${name}: name it ${formats.extensionsText}, or set the channel's ContentType (or the content_type hyperparameter) to ${formats.typesText.replace(' (or application/x-jsonlines)', '')}`,
      );
    }
    files.push({ path: full, name: `${channel}/${name}`, contentType, gzip, size: info.size });
  }
  if (files.length === 0) throw new DataError(`channel ${channel} (${dir}) holds no data files`);
  return files;
}
