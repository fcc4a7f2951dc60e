/**
 * The `path` benchmark: what the GraphQL mutation path and the provider call cost without any
 * budget work (BUDGET_ENABLED=false: nothing on the request path touches the database), as an
 * A/B in one run. Builds: this one with the lean provider client (the default), this one with
 * PROVIDER_CLIENT=sdk, and, when BENCH_BASELINE=<another build's dist/> is set, that build (e.g.
 * main before issue #13's path work; bench/README.md says how to make one). Rows `complete` and
 * `{ __typename }` at 16 in flight, every build in every round, rounds interleaved.
 */
import { simulatorEnv } from '../test/utils/providers';
import {
  ADMIN_KEY,
  COMPLETE_BODY,
  DURATION_MS,
  QUICK,
  ROUNDS,
  TYPENAME_BODY,
  WARMUP_MS,
  f2,
  measure,
  postgresTarget,
  rounds,
  rps,
  type Row,
} from './complete';
import { startGateway, type GatewayProcess } from './processes';
import { machine, table } from './report';
import { startSimulatorWorker } from './simulator-worker';

interface Build {
  name: string;
  dist?: string;
  env: Record<string, string>;
}

export async function benchPath(opts: { baseline: string | null }): Promise<string> {
  const builds: Build[] = [
    { name: 'this build (PROVIDER_CLIENT=lean)', env: {} },
    { name: 'this build, PROVIDER_CLIENT=sdk', env: { PROVIDER_CLIENT: 'sdk' } },
    ...(opts.baseline ? [{ name: `baseline (\`BENCH_BASELINE\`)`, dist: opts.baseline, env: {} }] : []),
  ];
  const sim = await startSimulatorWorker();
  const target = await postgresTarget();
  const gws: GatewayProcess[] = [];
  let rows: Map<string, Row>;
  try {
    for (const b of builds) {
      gws.push(
        await startGateway(
          {
            PORT: '0',
            HOST: '127.0.0.1',
            ADMIN_API_KEY: ADMIN_KEY,
            LOG_LEVEL: 'silent',
            RATE_LIMIT_PER_MINUTE: '0',
            BUDGET_ENABLED: 'false',
            ...simulatorEnv({ url: sim.url } as Parameters<typeof simulatorEnv>[0]),
            ...target.env(0),
            ...b.env,
          },
          b.dist,
        ),
      );
    }
    const url = (g: GatewayProcess) => `${g.url}/graphql`;
    process.stderr.write('path: BUDGET_ENABLED=false…\n');
    rows = await rounds(
      builds.flatMap((b, i) => [
        { key: `c${i}`, label: b.name, instances: 1, concurrency: 16, run: () => measure([gws[i]], url, COMPLETE_BODY, 16, null) },
        { key: `t${i}`, label: b.name, instances: 1, concurrency: 16, run: () => measure([gws[i]], url, TYPENAME_BODY, 16, null) },
      ]),
    );
  } finally {
    for (const g of gws) await g.stop().catch(() => undefined);
    await target.drop();
    await sim.close();
  }
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  return [
    '## path',
    '',
    `Run ${date} UTC on: ${machine()}. ${QUICK ? '**Quick run (BENCH_QUICK=1), shortened windows.** ' : ''}` +
      'The GraphQL mutation path and the provider call alone: every server with `BUDGET_ENABLED=false`, each a process of its own, against the simulator (zero latency, in a worker thread). ' +
      `16 in flight; per row ${WARMUP_MS / 1000} s warm-up, ${DURATION_MS / 1000} s measured, ${ROUNDS} round(s), every build in every round. CPU per request: the gateway process's utime + stime (/proc).`,
    '',
    table(
      [
        'build',
        '`complete` req/s',
        '`complete` CPU ms/req',
        '`{ __typename }` req/s',
        '`{ __typename }` CPU ms/req',
        'complete / typename (req/s)',
        'complete CPU − typename CPU, ms',
      ],
      builds.map((b, i) => {
        const c = rows.get(`c${i}`)!;
        const t = rows.get(`t${i}`)!;
        return [
          b.name,
          rps(c.throughput),
          f2(c.gatewayCpuMs),
          rps(t.throughput),
          f2(t.gatewayCpuMs),
          `${((c.throughput / t.throughput) * 100).toFixed(0)}%`,
          f2(c.gatewayCpuMs - t.gatewayCpuMs),
        ];
      }),
    ),
  ].join('\n');
}
