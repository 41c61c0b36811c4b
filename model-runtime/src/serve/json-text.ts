/**
 * Pieces of JSON text for the two things the server writes per request, the response body and
 * the log line, which it writes out by hand rather than build objects for JSON.stringify: at a
 * few microseconds per request, that was a large share of a small model's serving time.
 */

/** A number as JSON.stringify writes it: NaN and ±Infinity as null, -0 as 0. */
export function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/**
 * JSON.stringify(text), remembered: a server writes the same methods, paths and class labels
 * over and over. Bounded, since paths are the client's to choose.
 */
export function jsonString(text: string): string {
  let json = quoted.get(text);
  if (json === undefined) {
    json = JSON.stringify(text);
    if (quoted.size >= 4096) quoted.clear();
    quoted.set(text, json);
  }
  return json;
}
const quoted = new Map<string, string>();
