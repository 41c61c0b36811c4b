import { describe, expect, it } from 'vitest';
import { requestLine, type RequestLogEntry } from '../../model-runtime/src/serve/log.ts';

describe('requestLine', () => {
  // The request line is written field by field for speed; it must read as the general form does.
  const general = (entry: RequestLogEntry, time: string) => `${JSON.stringify({ time, level: 'info', msg: 'request', pid: process.pid, ...entry })}\n`;

  it.each<RequestLogEntry>([
    { method: 'POST', path: '/invocations', status: 200, rows: 3, batchRows: 17, batchRequests: 5, latencyMs: 0.125 },
    { method: 'GET', path: '/ping', status: 200, rows: 0, latencyMs: 12 },
    { method: 'POST', path: '/a "quoted"\\path\u0001', status: 400, rows: 0, error: 'row 0[1]: is "2", not a finite number\nsecond line', latencyMs: 1e-7 },
  ])('is the JSON of {time, level, msg, pid, ...entry}: %j', (entry) => {
    const text = requestLine(entry);
    const { time } = JSON.parse(text) as { time: string };
    expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(time) - Date.now())).toBeLessThan(5_000);
    expect(text).toBe(general(entry, time));
  });
});
