/**
 * Soak: `npm run bench:soak -- --seconds 60 --connections 64 --workers 2`.
 *
 * Serves the regression fixture model with `modelstack serve` and SAGEMAKER_MODEL_SERVER_WORKERS
 * workers as a child process (its log to a file), then two runs of autocannon against
 * /invocations on loopback, each on a fresh server:
 *
 *   steady  the whole run undisturbed: errors, RSS of the primary plus its workers (VmRSS from
 *           /proc/<pid>/status, sampled each second) and its growth from second 10 to the end,
 *           p50/p99 per 10-second window;
 *   kill    the same, with one worker sent SIGKILL halfway: the primary must start another; the
 *           requests in flight on it end with a 5xx or a connection error, and none hangs
 *           (autocannon's 10 s timeout counts those that would).
 *
 * Prints one JSON line per run on stdout.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon, { type Result } from 'autocannon';
import { writeRegressionArtifact } from '../../test/serve/fixtures/onnx-models.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, connections: { type: 'string', default: '64' }, workers: { type: 'string', default: '2' } } });
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const workers = Number(values.workers);
if (![seconds, connections, workers].every((value) => Number.isInteger(value) && value >= 1) || seconds < 20) {
  throw new Error('usage: bench:soak -- --seconds <>= 20> --connections <>= 1> --workers <>= 1>');
}
const WINDOW_SECONDS = 10;
const REQUEST_TIMEOUT_SECONDS = 10;
const BODY = '{"instances":[[1,2]]}';
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

const root = await mkdtemp(path.join(os.tmpdir(), 'modelstack-soak-'));
const modelDir = path.join(root, 'model');
await writeRegressionArtifact(modelDir);

const steady = await soak('steady', false);
process.stdout.write(`${JSON.stringify(steady)}\n`);
const killed = await soak('kill', true);
process.stdout.write(`${JSON.stringify(killed)}\n`);
await rm(root, { recursive: true, force: true });

async function soak(name: string, killOne: boolean) {
  const port = await freePort();
  const logPath = path.join(root, `${name}.log`);
  const logFd = openSync(logPath, 'w');
  const primary = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'modelstack.js'), 'serve', modelDir, '--port', String(port)], {
    cwd: REPO_ROOT,
    env: { ...process.env, SAGEMAKER_MODEL_SERVER_WORKERS: String(workers), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const url = `http://127.0.0.1:${port}`;
  await waitForPing(url, 60_000);
  // Every worker must be up before the run starts (the first /ping may come from the first worker).
  for (let tries = 0; (await childPids(primary.pid!)).length < workers && tries < 600; tries++) await sleep(100);

  const rss: { second: number; kib: number }[] = [];
  const latencies: { at: number; ms: number }[] = [];
  const statuses = new Map<number, number>();
  const requestErrors: { at: number; code: string }[] = [];
  let kill: { at: number; pid: number; replacedBy: number[] | undefined; replacedAfterMs: number | undefined } | undefined;
  const started = Date.now();

  const sampler = setInterval(() => void sampleRss(primary.pid!).then((kib) => rss.push({ second: Math.round((Date.now() - started) / 1000), kib })), 1000);
  const killer = killOne
    ? setTimeout(() => void killAWorker(primary.pid!, started).then((result) => (kill = result)), (seconds / 2) * 1000)
    : undefined;

  const result = await new Promise<Result>((resolve, reject) => {
    const instance = autocannon(
      { url: `${url}/invocations`, method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY, connections, duration: seconds, timeout: REQUEST_TIMEOUT_SECONDS },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
      if (statusCode === 200) latencies.push({ at: Date.now() - started, ms: responseTime });
    });
    instance.on('reqError', (error) => requestErrors.push({ at: Date.now() - started, code: (error as NodeJS.ErrnoException).code ?? error.message }));
  });
  clearInterval(sampler);
  clearTimeout(killer);
  // A sample still being read lands after this; it would see the server stopping, so it is not counted.
  const samples = rss.slice();

  primary.kill('SIGTERM');
  const exitCode = await new Promise<number | string>((resolve) => primary.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const log = await readFile(logPath, 'utf8');

  const fromTen = samples.filter((sample) => sample.second >= WINDOW_SECONDS);
  const first = fromTen[0]?.kib ?? Number.NaN;
  const last = fromTen.at(-1)?.kib ?? Number.NaN;
  return {
    run: name,
    command: `npm run bench:soak -- --seconds ${seconds} --connections ${connections} --workers ${workers}`,
    seconds,
    connections,
    workers,
    requests: result.requests.total,
    ok: latencies.length,
    rps: Math.round(latencies.length / result.duration),
    statuses: Object.fromEntries(statuses),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    requestErrors: Object.fromEntries(countBy(requestErrors.map((entry) => entry.code))),
    rssKiB: { atSecond10: first, atEnd: last, max: Math.max(...fromTen.map((sample) => sample.kib)), growthPercent: Number((((last - first) / first) * 100).toFixed(1)) },
    windows: windows(latencies),
    rssKiBPerSecond: samples.map((sample) => sample.kib),
    ...(kill === undefined ? {} : {
      kill: {
        ...kill,
        errorsWithin2sOfKill: requestErrors.filter((entry) => entry.at >= kill!.at && entry.at < kill!.at + 2000).length,
        non2xxResponses: [...statuses].filter(([status]) => status !== 200).reduce((sum, [, count]) => sum + count, 0),
        primaryLoggedReplacement: log.includes('worker died; starting another'),
      },
    }),
    serverExit: exitCode,
    machine: { nproc: os.availableParallelism(), loadAverage: os.loadavg().map((load) => Number(load.toFixed(2))), shared: 'with other agents' },
  };
}

function windows(latencies: readonly { at: number; ms: number }[]) {
  const out: { from: number; to: number; requests: number; p50: number; p99: number }[] = [];
  for (let from = 0; from < seconds; from += WINDOW_SECONDS) {
    const inWindow = latencies.filter((entry) => entry.at >= from * 1000 && entry.at < (from + WINDOW_SECONDS) * 1000).map((entry) => entry.ms).sort((a, b) => a - b);
    const pick = (p: number) => inWindow[Math.min(inWindow.length - 1, Math.floor(p * inWindow.length))] ?? Number.NaN;
    out.push({ from, to: from + WINDOW_SECONDS, requests: inWindow.length, p50: Number(pick(0.5).toFixed(2)), p99: Number(pick(0.99).toFixed(2)) });
  }
  return out;
}

async function killAWorker(primaryPid: number, started: number) {
  const before = await childPids(primaryPid);
  const victim = before[0];
  if (victim === undefined) return { at: Number.NaN, pid: -1, replacedBy: undefined, replacedAfterMs: undefined };
  const at = Date.now();
  process.kill(victim, 'SIGKILL');
  // Bounded: a replacement is looked for for 30 s.
  for (let waited = 0; waited < 30_000; waited += 100) {
    await sleep(100);
    const now = await childPids(primaryPid);
    const fresh = now.filter((pid) => !before.includes(pid));
    if (fresh.length > 0 && now.length >= before.length) return { at: at - started, pid: victim, replacedBy: fresh, replacedAfterMs: Date.now() - at };
  }
  return { at: at - started, pid: victim, replacedBy: undefined, replacedAfterMs: undefined };
}

async function childPids(parent: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Field 4 (ppid) comes after the command name in parentheses, which may itself hold spaces.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === parent) pids.push(Number(entry));
  }
  return pids.sort((a, b) => a - b);
}

async function sampleRss(primaryPid: number): Promise<number> {
  let kib = 0;
  for (const pid of [primaryPid, ...(await childPids(primaryPid))]) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    kib += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  }
  return kib;
}

async function waitForPing(url: string, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
    const status = await fetch(`${url}/ping`).then((response) => response.status, () => 0);
    if (status === 200) return;
  }
  throw new Error(`${url}/ping did not answer 200 within ${timeoutMs} ms`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

function countBy(keys: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
