/**
 * A small closed-loop load generator: `concurrency` loops each send one request, wait for the
 * answer, send the next. Runs in a worker thread so the client's own CPU does not share the
 * server's event loop (the server under test runs in the main thread).
 */
import { Agent, request } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface LoadSpec {
  /** Full URL, e.g. `http://127.0.0.1:4000/graphql`. */
  url: string;
  body: string;
  headers: Record<string, string>;
  /** Requests in flight. */
  concurrency: number;
  /** Requests sent and not measured first. @default 2_000 */
  warmupMs?: number;
  /** How long to measure. @default 10_000 */
  durationMs?: number;
  /** Stop measuring after this many requests even if the time is not up. @default 200_000 */
  maxRequests?: number;
}

export interface LoadResult {
  concurrency: number;
  /** Completed measured requests (successful ones; errors are counted apart). */
  count: number;
  errors: number;
  firstError: string | null;
  elapsedMs: number;
  /** Requests per second over the measured window. */
  throughput: number;
  p50: number;
  p99: number;
  mean: number;
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function post(agent: Agent, u: URL, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function generate(spec: LoadSpec): Promise<LoadResult> {
  const warmupMs = spec.warmupMs ?? 2_000;
  const durationMs = spec.durationMs ?? 10_000;
  const maxRequests = spec.maxRequests ?? 200_000;
  const u = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const latencies = new Float64Array(maxRequests);
  let count = 0;
  let errors = 0;
  let firstError: string | null = null;
  const t0 = performance.now();
  const measureFrom = t0 + warmupMs;
  const hardEnd = measureFrom + durationMs;
  let measureEnd = hardEnd;

  const loop = async () => {
    for (;;) {
      const start = performance.now();
      if (start >= measureEnd) return;
      let ok = false;
      let err: string | null = null;
      try {
        const r = await post(agent, u, spec.body, spec.headers);
        // A GraphQL error is an error even with status 200.
        ok = r.status === 200 && !r.text.includes('"errors"');
        if (!ok) err = `${r.status} ${r.text.slice(0, 300)}`;
      } catch (e) {
        err = String(e);
      }
      const end = performance.now();
      if (start < measureFrom) continue; // warm-up
      if (end > measureEnd) return; // only requests that completed inside the window count
      if (!ok) {
        errors++;
        firstError ??= err;
        continue;
      }
      latencies[count++] = end - start;
      if (count >= maxRequests) measureEnd = end;
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  agent.destroy();
  const elapsedMs = Math.min(measureEnd, hardEnd) - measureFrom;
  const sorted = latencies.slice(0, count).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    concurrency: spec.concurrency,
    count,
    errors,
    firstError,
    elapsedMs,
    throughput: (count / elapsedMs) * 1000,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    mean: count ? sum / count : NaN,
  };
}

/** Runs the load in a worker thread and resolves with its figures. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(join(__dirname, 'load.js'), { workerData: spec });
    w.once('message', (r: LoadResult) => resolve(r));
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`load worker exited with ${code}`)));
  });
}

if (!isMainThread && parentPort && (workerData as { role?: string } | null)?.role !== 'simulator') {
  const port = parentPort;
  void generate(workerData as LoadSpec).then((r) => port.postMessage(r));
}
