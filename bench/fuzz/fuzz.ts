/**
 * The long fuzz run: `npm run bench:fuzz -- --seed 13 --cases 10000`. The same cases and
 * properties as test/serve/fuzz.test.ts (test/serve/fixtures/http-fuzz.ts), over real HTTP on
 * loopback against an in-process server with the regression fixture model, but every case runs
 * (a failure is counted, not fatal), then the slow-sender probe. Prints progress to stderr and one
 * JSON summary on stdout: cases, seed, failures (by case kind, with the first example of each),
 * duration.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { aliveViolations, describeCase, fuzzCase, runCase, slowSenderProbe } from '../../test/serve/fixtures/http-fuzz.ts';
import { fixtureArtifacts, startLocalServer } from '../../test/serve/fixtures/local-server.ts';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '13' }, cases: { type: 'string', default: '10000' }, 'slow-seconds': { type: 'string', default: '5' } } });
const seed = Number(values.seed);
const cases = Number(values.cases);
const slowSeconds = Number(values['slow-seconds']);
if (!Number.isInteger(seed) || !Number.isInteger(cases) || cases < 1 || !Number.isInteger(slowSeconds) || slowSeconds < 1) {
  throw new Error('usage: bench:fuzz -- --seed <integer> --cases <count >= 1> [--slow-seconds <count >= 1>]');
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
    machine: { nproc: os.availableParallelism(), loadAverage: os.loadavg().map((load) => Number(load.toFixed(2))) },
  })}\n`,
);
