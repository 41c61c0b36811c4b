/**
 * One autocannon run, as a child process of bench.ts so it can be pinned to cores of its own
 * (`taskset -c LOAD_CORES node --import tsx load.ts URL BODY CONNECTIONS SECONDS`); prints one
 * JSON line: requests/s and latency percentiles.
 *
 * autocannon's own latency histogram has 1 ms resolution, too coarse for sub-millisecond
 * answers, so percentiles come from every response's time as it reports it.
 */
import autocannon, { type Result } from 'autocannon';

const [url, body, connections, seconds] = process.argv.slice(2);
if (url === undefined || body === undefined || connections === undefined || seconds === undefined) {
  throw new Error('usage: load.ts URL BODY CONNECTIONS SECONDS');
}

const latencies: number[] = [];
const result = await new Promise<Result>((resolve, reject) => {
  const instance = autocannon(
    { url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: Number(connections), duration: Number(seconds) },
    (error, finished) => (error ? reject(error) : resolve(finished)),
  );
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode === 200) latencies.push(responseTime);
  });
});
latencies.sort((a, b) => a - b);
const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
process.stdout.write(`${JSON.stringify({ rps: latencies.length / result.duration, p50: percentile(50), p99: percentile(99), failures: result.errors + result.timeouts + result.non2xx })}\n`);
