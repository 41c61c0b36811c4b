/**
 * The long fuzz run: `npm run bench:fuzz -- --seed 13 --cases 10000 --stream-cases 2000`. The same
 * cases and properties as test/serve/fuzz.test.ts (test/serve/fixtures/http-fuzz.ts), over real
 * HTTP on loopback against an in-process server with the regression fixture model, but every case
 * runs (a failure is counted, not fatal), then the slow-sender probe, then the streamed
 * generation cases (test/serve/fixtures/stream-fuzz.ts) against a tiny language model. Prints progress to stderr and one
 * JSON summary on stdout: cases, seed, failures (by case kind, with the first example of each),
 * duration.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { aliveViolations, describeCase, fuzzCase, runCase, slowSenderProbe } from '../../test/serve/fixtures/http-fuzz.ts';
import { rm } from 'node:fs/promises';
import { trainTinyLanguageModel } from '../../test/serve/fixtures/language-model.ts';
import { fixtureArtifacts, startLocalServer } from '../../test/serve/fixtures/local-server.ts';
import { runStreamCase, streamAliveViolations, streamFuzzCase } from '../../test/serve/fixtures/stream-fuzz.ts';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '13' }, cases: { type: 'string', default: '10000' }, 'slow-seconds': { type: 'string', default: '5' }, 'stream-cases': { type: 'string', default: '2000' } } });
const seed = Number(values.seed);
const cases = Number(values.cases);
const slowSeconds = Number(values['slow-seconds']);
const streamCases = Number(values['stream-cases']);
if (!Number.isInteger(seed) || !Number.isInteger(cases) || cases < 1 || !Number.isInteger(slowSeconds) || slowSeconds < 1 || !Number.isInteger(streamCases) || streamCases < 0) {
  throw new Error('usage: bench:fuzz -- --seed <integer> --cases <count >= 1> [--slow-seconds <count >= 1>] [--stream-cases <count >= 0>]');
}

const artifacts = await fixtureArtifacts();
// The server's own request log would be one line per case: keep it in memory, count it.
const server = await startLocalServer(artifacts.regression);
await server.server.ready;
const port = Number(new URL(server.url).port);

const started = performance.now();
const kinds = new Map<string, number>();
const failures = new Map<string, { count: number; example: string; violations: string[] }>();
let ran = 0;
await fc.assert(
  fc.asyncProperty(fuzzCase, async (fuzz) => {
    ran += 1;
    kinds.set(fuzz.kind, (kinds.get(fuzz.kind) ?? 0) + 1);
    const broken = [...(await runCase(port, fuzz)), ...(await aliveViolations(server.url))];
    if (broken.length > 0) {
      const seen = failures.get(fuzz.kind);
      if (seen === undefined) failures.set(fuzz.kind, { count: 1, example: describeCase(fuzz), violations: broken });
      else seen.count += 1;
    }
    if (ran % 500 === 0) process.stderr.write(`${ran}/${cases} cases, ${[...failures.values()].reduce((sum, entry) => sum + entry.count, 0)} failing, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    return true;
  }),
  { seed, numRuns: cases },
);
const fuzzSeconds = (performance.now() - started) / 1000;
const slow = await slowSenderProbe(port, server.url, slowSeconds);
await server.close();
await artifacts.remove();

// The streamed generation routes, against a tiny language model that ends some texts with eos.
const lmPaths = await trainTinyLanguageModel(Array.from({ length: 60 }, (_, index) => (index % 2 === 0 ? 'hello world.' : 'hello world. hello.')));
const lm = await startLocalServer(lmPaths.model);
await lm.server.ready;
const lmPort = Number(new URL(lm.url).port);
const streamStarted = performance.now();
const streamFailures = new Map<string, { count: number; example: string; violations: string[] }>();
let streamRan = 0;
if (streamCases > 0) {
  await fc.assert(
    fc.asyncProperty(streamFuzzCase, async (fuzz) => {
      streamRan += 1;
      const broken = [...(await runStreamCase(lmPort, fuzz)), ...(await streamAliveViolations(lm.url))];
      if (broken.length > 0) {
        const seen = streamFailures.get(fuzz.kind);
        if (seen === undefined) streamFailures.set(fuzz.kind, { count: 1, example: String(fuzz), violations: broken });
        else seen.count += 1;
      }
      if (streamRan % 500 === 0) process.stderr.write(`${streamRan}/${streamCases} stream cases, ${((performance.now() - streamStarted) / 1000).toFixed(0)} s\n`);
      return true;
    }),
    { seed, numRuns: streamCases },
  );
}
await lm.close();
await rm(lmPaths.root, { recursive: true, force: true });

process.stdout.write(
  `${JSON.stringify({
    cases: ran,
    seed,
    failingCases: [...failures.values()].reduce((sum, entry) => sum + entry.count, 0),
    failures: Object.fromEntries(failures),
    durationSeconds: Math.round(fuzzSeconds),
    requestsLogged: server.log.length,
    statuses: server.log.reduce<Record<number, number>>((counts, entry) => ({ ...counts, [entry.status]: (counts[entry.status] ?? 0) + 1 }), {}),
    kinds: Object.fromEntries([...kinds].sort()),
    slowSender: { seconds: slowSeconds, ...slow },
    streams: {
      cases: streamRan,
      failingCases: [...streamFailures.values()].reduce((sum, entry) => sum + entry.count, 0),
      failures: Object.fromEntries(streamFailures),
      durationSeconds: Math.round((performance.now() - streamStarted) / 1000),
      statuses: lm.log.reduce<Record<number, number>>((counts, entry) => ({ ...counts, [entry.status]: (counts[entry.status] ?? 0) + 1 }), {}),
    },
    machine: { nproc: os.availableParallelism(), loadAverage: os.loadavg().map((load) => Number(load.toFixed(2))) },
  })}\n`,
);
