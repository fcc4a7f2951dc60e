/**
 * The provider-compatible doors (issue 14), one gateway process on PostgreSQL against the
 * simulator (in a worker, zero latency), the same three budgets as the `complete` bench applying
 * to every request: `POST /v1/chat/completions` JSON next to GraphQL `complete` at 1 and 16 in
 * flight, and streams (`"stream": true`, 20 tokens) direct to the simulator and through the
 * gateway at 1 and 16 in flight: time to first byte of the body, time to the end, streams per
 * second. Rows interleaved over rounds, as in bench/complete.ts.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { simulatorEnv } from '../test/utils/providers';
import {
  ADMIN_KEY,
  COMPLETE_BODY,
  DURATION_MS,
  HEADERS,
  QUICK,
  ROUNDS,
  WARMUP_MS,
  jitWarmUp,
  f2,
  measure,
  postgresTarget,
  rps,
  rounds,
  type Sample,
} from './complete';
import { quantile } from './load';
import { startGateway, type GatewayProcess } from './processes';
import { machine, table } from './report';
import { startSimulatorWorker } from './simulator-worker';

const USER = 'bench-user';
const PROJECT = 'bench-project';
const MESSAGES = [{ role: 'user', content: 'Summarise the quarterly report in one line.' }];
const DOOR_HEADERS = { ...HEADERS, 'x-budget-user-id': USER, 'x-budget-project-id': PROJECT };
const JSON_BODY = JSON.stringify({ model: 'openai/gpt-4o', messages: MESSAGES, max_tokens: 20 });
const STREAM_BODY = JSON.stringify({
  model: 'gpt-4o',
  messages: MESSAGES,
  max_tokens: 20,
  stream: true,
  stream_options: { include_usage: true },
});

interface StreamFigures {
  count: number;
  errors: number;
  firstError: string | null;
  throughput: number;
  ttfbP50: number;
  ttfbP99: number;
  totalP50: number;
}

/** One streamed POST: ms to the first byte of the body and to its end; rejects on a status other than 200. */
function streamOnce(agent: Agent, u: URL, body: string, headers: Record<string, string>): Promise<{ ttfb: number; total: number }> {
  const start = performance.now();
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
        let ttfb = 0;
        let text = '';
        res.on('data', (c: Buffer) => {
          ttfb ||= performance.now() - start;
          text += c.toString('utf8');
        });
        res.on('end', () =>
          res.statusCode === 200 && text.includes('[DONE]')
            ? resolve({ ttfb, total: performance.now() - start })
            : reject(new Error(`${res.statusCode} ${text.slice(0, 200)}`)),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A closed loop of `concurrency` streams for the warm-up, then the measured window. */
async function streamLoad(url: string, headers: Record<string, string>, concurrency: number): Promise<StreamFigures> {
  const u = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const ttfbs: number[] = [];
  const totals: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  const t0 = performance.now();
  const from = t0 + WARMUP_MS;
  const end = from + DURATION_MS;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        try {
          const r = await streamOnce(agent, u, STREAM_BODY, headers);
          if (started >= from && performance.now() <= end) {
            ttfbs.push(r.ttfb);
            totals.push(r.total);
          }
        } catch (e) {
          errors++;
          firstError ??= String(e);
        }
      }
    }),
  );
  agent.destroy();
  ttfbs.sort((a, b) => a - b);
  totals.sort((a, b) => a - b);
  return {
    count: ttfbs.length,
    errors,
    firstError,
    throughput: (ttfbs.length / DURATION_MS) * 1000,
    ttfbP50: quantile(ttfbs, 0.5),
    ttfbP99: quantile(ttfbs, 0.99),
    totalP50: quantile(totals, 0.5),
  };
}

async function gql(url: string, query: string, variables: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: HEADERS, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { errors?: unknown[] };
  if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
}

export async function benchCompatible(): Promise<string> {
  const sim = await startSimulatorWorker();
  const target = await postgresTarget();
  let gw: GatewayProcess | null = null;
  try {
    gw = await startGateway({
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_API_KEY: ADMIN_KEY,
      LOG_LEVEL: 'silent',
      RATE_LIMIT_PER_MINUTE: '0',
      ...simulatorEnv({ url: sim.url } as Parameters<typeof simulatorEnv>[0]),
      ...target.env(0),
    });
    const g = gw;
    const budget = 'mutation B($input: CreateBudgetInput!) { createBudget(input: $input) { id } }';
    for (const input of [
      { budgetType: 'GLOBAL' },
      { budgetType: 'USER', userId: USER, hardLimitEnabled: true },
      { budgetType: 'PROJECT', projectId: PROJECT, hardLimitEnabled: true },
    ]) {
      await gql(g.url, budget, {
        input: { budgetName: `bench ${input.budgetType}`, limitType: 'COST', limitPeriod: 'MONTHLY', limitValue: 1e9, ...input },
      });
    }
    await jitWarmUp([g]);
    const json = (c: number): Promise<Sample> => measure([g], (x) => `${x.url}/v1/chat/completions`, JSON_BODY, c, target, DOOR_HEADERS);
    const rows = await rounds([
      {
        key: 'complete1',
        label: 'GraphQL `complete`',
        instances: 1,
        concurrency: 1,
        run: () => measure([g], (x) => `${x.url}/graphql`, COMPLETE_BODY, 1, target),
      },
      { key: 'json1', label: '`/v1/chat/completions` JSON', instances: 1, concurrency: 1, run: () => json(1) },
      {
        key: 'complete16',
        label: 'GraphQL `complete`',
        instances: 1,
        concurrency: 16,
        run: () => measure([g], (x) => `${x.url}/graphql`, COMPLETE_BODY, 16, target),
      },
      { key: 'json16', label: '`/v1/chat/completions` JSON', instances: 1, concurrency: 16, run: () => json(16) },
    ]);
    const streams: { label: string; c: number; f: StreamFigures }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of [1, 16]) {
        process.stderr.write(`  round ${r + 1}/${ROUNDS}: streams, ${c} in flight…\n`);
        streams.push({
          label: 'direct to simulator',
          c,
          f: await streamLoad(`${sim.url}/v1/chat/completions`, { 'content-type': 'application/json', authorization: 'Bearer sk-sim' }, c),
        });
        streams.push({ label: 'through the gateway', c, f: await streamLoad(`${g.url}/v1/chat/completions`, DOOR_HEADERS, c) });
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const streamRow = (label: string, c: number) => {
      const fs = streams.filter((s) => s.label === label && s.c === c).map((s) => s.f);
      return {
        label,
        c,
        throughput: median(fs.map((f) => f.throughput)),
        ttfb: median(fs.map((f) => f.ttfbP50)),
        ttfb99: median(fs.map((f) => f.ttfbP99)),
        total: median(fs.map((f) => f.totalP50)),
        errors: fs.reduce((s, f) => s + f.errors, 0),
        firstError: fs.find((f) => f.firstError)?.firstError ?? null,
      };
    };
    const sRows = [1, 16].flatMap((c) => [streamRow('direct to simulator', c), streamRow('through the gateway', c)]);
    const at = (c: number, label: string) => sRows.find((x) => x.c === c && x.label === label)!;
    const jsonRows = [...rows.values()];
    const errs = [...jsonRows.filter((r) => r.errors), ...sRows.filter((r) => r.errors)];
    const now = new Date().toISOString().slice(0, 16).replace('T', ' ');
    return [
      '## Compatible API',
      '',
      'Run by `npm run bench -- compatible` (bench/compatible.ts): one gateway process on PostgreSQL, the simulator in a worker thread with zero latency, GLOBAL, USER and PROJECT budgets applying to every request, 20 output tokens per request.',
      `Run ${now} UTC on: ${machine()}.${QUICK ? ' BENCH_QUICK=1: short windows.' : ''} ${ROUNDS} round(s) of ${DURATION_MS / 1000} s per row, interleaved.`,
      '',
      '### JSON: `/v1/chat/completions` next to `complete`',
      '',
      table(
        ['request', 'in flight', 'req/s', 'p50 ms', 'p99 ms', 'gateway CPU ms/req', 'statements/req'],
        jsonRows.map((r) => [r.label, r.concurrency, rps(r.throughput), f2(r.p50), f2(r.p99), f2(r.gatewayCpuMs), f2(r.statements)]),
      ),
      '',
      '### Streams (`"stream": true`, usage chunk asked)',
      '',
      'Time to first byte: from sending the request to the first byte of the response body (for the gateway: after admission, the estimate, the decision and the hold, the first chunk relayed from the provider). Total: to the end of `[DONE]` (for the gateway: after the settle committed).',
      '',
      table(
        ['path', 'in flight', 'streams/s', 'TTFB p50 ms', 'TTFB p99 ms', 'total p50 ms'],
        sRows.map((r) => [r.label, r.c, rps(r.throughput), f2(r.ttfb), f2(r.ttfb99), f2(r.total)]),
      ),
      '',
      `At 1 in flight the gateway adds ${f2(at(1, 'through the gateway').ttfb - at(1, 'direct to simulator').ttfb)} ms to the first byte; at 16, ${f2(at(16, 'through the gateway').ttfb - at(16, 'direct to simulator').ttfb)} ms. ` +
        `The JSON door serves ${f2(rows.get('json16')!.throughput / rows.get('complete16')!.throughput)}x the requests per second of GraphQL \`complete\` at 16 in flight (the same steps; no GraphQL parse, validation and execution).`,
      errs.length ? `\nErrors seen: ${errs.map((r) => `${r.label}: ${r.firstError}`).join('; ')}` : '',
    ].join('\n');
  } finally {
    await gw?.stop().catch(() => undefined);
    await target.drop().catch(() => undefined);
    await sim.close();
  }
}
