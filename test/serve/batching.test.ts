import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { regressionTruth } from './fixtures/onnx-models.ts';
import { fixtureArtifacts, invoke, startLocalServer, type FixtureArtifacts, type LocalServer } from './fixtures/local-server.ts';

let artifacts: FixtureArtifacts;
let server: LocalServer;

beforeAll(async () => {
  artifacts = await fixtureArtifacts();
  server = await startLocalServer(artifacts.regression);
  await server.server.ready;
});

afterAll(async () => {
  await server?.close();
  await artifacts?.remove();
});

describe('dynamic batching', () => {
  it('coalesces 64 concurrent requests into fewer ONNX Runtime runs, each caller getting its own rows back', async () => {
    // Request i sends (i % 3) + 1 distinct rows, so a mix-up of offsets between callers shows.
    const requests = Array.from({ length: 64 }, (_, i) =>
      Array.from({ length: (i % 3) + 1 }, (_, r) => [i + r / 10, -i / 7 + r] as const),
    );
    const runsBefore = server.server.model!.runs!;
    const logBefore = server.log.length;

    const responses = await Promise.all(requests.map((rows) => invoke(server.url, JSON.stringify({ instances: rows }))));

    responses.forEach((response, i) => {
      expect(response.status).toBe(200);
      const { predictions } = response.json() as { predictions: number[] };
      expect(predictions).toHaveLength(requests[i]!.length);
      predictions.forEach((value, r) => expect(value).toBeCloseTo(regressionTruth(...requests[i]![r]!), 3));
    });
    const runs = server.server.model!.runs! - runsBefore;
    expect(runs).toBeLessThan(64);
    const entries = server.log.slice(logBefore);
    expect(entries).toHaveLength(64);
    expect(Math.max(...entries.map((entry) => entry.batchRequests ?? 0))).toBeGreaterThan(1);
    entries.forEach((entry) => expect(entry.batchRows).toBeGreaterThanOrEqual(entry.rows));
  });

  it('caps a pass at maxBatchRows, and still runs a larger single request, alone', async () => {
    const capped = await startLocalServer(artifacts.regression, { batching: { maxBatchRows: 8 } });
    try {
      await capped.server.ready;
      const singles = Array.from({ length: 24 }, (_, i) => invoke(capped.url, JSON.stringify([[i, 1]])));
      const large = Array.from({ length: 20 }, (_, i) => [i, -i] as const);
      const [big, ...rest] = await Promise.all([invoke(capped.url, JSON.stringify(large)), ...singles]);
      expect((big!.json() as { predictions: number[] }).predictions).toEqual(large.map(([x1, x2]) => regressionTruth(x1, x2)));
      rest.forEach((response, i) => expect(response.json()).toEqual({ predictions: [regressionTruth(i, 1)] }));
      const bigEntry = capped.log.find((entry) => entry.rows === 20)!;
      expect(bigEntry.batchRows).toBe(20);
      capped.log.filter((entry) => entry.rows === 1).forEach((entry) => expect(entry.batchRows).toBeLessThanOrEqual(8));
    } finally {
      await capped.close();
    }
  });

  it('runs a lone request at once, in a batch of its own', async () => {
    const logBefore = server.log.length;
    await invoke(server.url, '[[1, 2], [3, 4]]');
    expect(server.log.slice(logBefore)).toEqual([expect.objectContaining({ rows: 2, batchRows: 2, batchRequests: 1 })]);
  });
});
