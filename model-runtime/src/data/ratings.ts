/**
 * Explicit ratings for matrix factorization: CSV rows `rating,user,item` (label first, as in
 * every other table here; a header row naming rating, user and item is recognised and skipped)
 * or JSON Lines objects {"rating": 4, "user": "u1", "item": "i9"}. Ids are strings (numbers are
 * read as their text); users and items get dense indices in order of first appearance, so the
 * same files give the same indices.
 */
import type { DataFile } from './channel-files.ts';
import { listChannelFiles } from './channel-files.ts';
import { DataError } from './data-error.ts';
import { readCsvRecords, readJsonRecords } from './readers.ts';

/** A channel's ratings as read: ids as strings, in file order. */
export interface RatingRows {
  readonly users: readonly string[];
  readonly items: readonly string[];
  readonly ratings: Float64Array;
}

/** User and item ids by index, and the index of each id (in order of first appearance). */
export class IdVocabulary {
  readonly ids: string[] = [];
  private readonly index = new Map<string, number>();

  static of(ids: Iterable<string>): IdVocabulary {
    const vocabulary = new IdVocabulary();
    for (const id of ids) vocabulary.add(id);
    return vocabulary;
  }

  add(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.ids.push(id);
      this.index.set(id, i);
    }
    return i;
  }

  /** The id's index, or -1 for an id training never saw. */
  find(id: string): number {
    return this.index.get(id) ?? -1;
  }

  get size(): number {
    return this.ids.length;
  }
}

/** The ratings of a channel, or null when the channel does not exist. */
export async function readRatings(dir: string, channel: string, contentType: string | null): Promise<RatingRows | null> {
  const files = await listChannelFiles(dir, channel, contentType);
  if (files === null) return null;
  if (files.length === 0) throw new DataError(`channel ${channel} holds no .csv or .jsonl files of ratings (rows rating,user,item)`);
  const users: string[] = [];
  const items: string[] = [];
  const ratings: number[] = [];
  for (const file of files) {
    for await (const row of readRatingRows(file)) {
      users.push(row.user);
      items.push(row.item);
      ratings.push(row.rating);
    }
  }
  if (ratings.length === 0) throw new DataError(`channel ${channel} has no ratings: its files hold no rows of rating,user,item`);
  return { users, items, ratings: Float64Array.from(ratings) };
}

interface RatingRow {
  readonly rating: number;
  readonly user: string;
  readonly item: string;
}

async function* readRatingRows(file: DataFile): AsyncGenerator<RatingRow> {
  if (file.contentType === 'text/csv') {
    let first = true;
    for await (const { line, cells } of readCsvRecords(file)) {
      if (first && cells.length >= 3 && cells.slice(0, 3).map((c) => c.toLowerCase()).join(',') === 'rating,user,item') {
        first = false;
        continue;
      }
      first = false;
      if (cells.length !== 3) throw DataError.at(file.name, line, `expected 3 columns rating,user,item, got ${cells.length}`);
      yield { rating: ratingOf(file, line, cells[0]!), user: idOf(file, line, 'user', cells[1]!), item: idOf(file, line, 'item', cells[2]!) };
    }
    return;
  }
  for await (const { line, value } of readJsonRecords(file)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw DataError.at(file.name, line, 'expected an object {"rating": 4, "user": "u1", "item": "i9"}');
    }
    const record = value as Record<string, unknown>;
    for (const key of ['rating', 'user', 'item']) {
      if (!(key in record)) throw DataError.at(file.name, line, `the object has no "${key}" key; each line is {"rating": 4, "user": "u1", "item": "i9"}`);
    }
    const text = (key: 'user' | 'item'): string => {
      const v = record[key];
      if (typeof v !== 'string' && typeof v !== 'number') throw DataError.at(file.name, line, `"${key}" must be a string or number id, got ${JSON.stringify(v)}`);
      return idOf(file, line, key, String(v));
    };
    const rating = typeof record.rating === 'number' ? record.rating : ratingOf(file, line, String(record.rating));
    if (!Number.isFinite(rating)) throw DataError.at(file.name, line, `rating must be a finite number, got ${JSON.stringify(record.rating)}`);
    yield { rating, user: text('user'), item: text('item') };
  }
}

function ratingOf(file: DataFile, line: number, text: string): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) throw DataError.at(file.name, line, `rating ${JSON.stringify(text)} is not a number; the first column is the rating, then user, then item`);
  return value;
}

function idOf(file: DataFile, line: number, what: 'user' | 'item', text: string): string {
  if (text === '') throw DataError.at(file.name, line, `the ${what} id is empty`);
  return text;
}
