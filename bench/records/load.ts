/**
 * The load generator, in a process of its own (so that it never shares the server's event loop):
 * `load.ts <spec.json>` runs autocannon against `baseUrl` with `connections` keep-alive
 * connections, each request on a path drawn at random from `paths`: first `warmupSeconds`
 * (discarded), then `durationSeconds` measured. Latencies are taken from autocannon's per-response
 * event, in fractional milliseconds (its own histogram keeps whole milliseconds only, too coarse
 * for sub-millisecond responses). Prints `measuring` when the measured seconds start, then one
 * JSON line: the measured figures.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadSpec {
  baseUrl: string;
  token?: string;
  paths: string[];
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Milliseconds. */
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  /** Responses other than 2xx, plus socket errors and timeouts. */
  failures: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function run(spec: LoadSpec, seconds: number): Promise<LoadResult> {
  const { paths } = spec;
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  let failures = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.baseUrl,
        connections: spec.connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        headers: spec.token ? { authorization: `Bearer ${spec.token}` } : {},
        requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: paths[Math.floor(Math.random() * paths.length)]! }) }],
      },
      (error, result) => {
        if (error) return reject(error);
        const sorted = latencies.slice(0, n).sort();
        let sum = 0;
        for (const v of sorted) sum += v;
        failures += result.errors + result.timeouts;
        resolve({
          requests: n,
          seconds: result.duration,
          rps: n / result.duration,
          mean: n ? sum / n : NaN,
          p50: percentile(sorted, 50),
          p90: percentile(sorted, 90),
          p99: percentile(sorted, 99),
          p999: percentile(sorted, 99.9),
          max: sorted[n - 1] ?? NaN,
          failures,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode >= 300) {
        failures++;
        return;
      }
      if (n === latencies.length) {
        const grown = new Float64Array(n * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[n++] = responseTime;
    });
  });
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSpec;
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(spec.baseUrl)) throw new Error(`load.ts targets 127.0.0.1 only, not ${spec.baseUrl}`);
if (spec.warmupSeconds > 0) await run(spec, spec.warmupSeconds);
// Tells the bench that the measured seconds start (it reads the server's CPU time then).
process.stdout.write('measuring\n');
const result = await run(spec, spec.durationSeconds);
process.stdout.write(`${JSON.stringify(result)}\n`);
