/**
 * A/B of `complete` at 16 in flight on one PostgreSQL database, one run, rows interleaved: a baseline
 * build (BENCH_BASELINE=<its dist/>, e.g. main) against this build with BUDGET_LEASES off and on, one
 * instance each; then two instances of this build together, off and on. Prints a Markdown table
 * (not written to README). `node dist/bench/ab-leases.js` after `npm run build`.
 */
import { ADMIN_KEY, COMPLETE_BODY, HEADERS, f2, measure, postgresTarget, rounds, rps, type Row } from './complete';
import { startGateway, type GatewayProcess } from './processes';
import { simulatorEnv } from '../test/utils/providers';
import { startSimulatorWorker } from './simulator-worker';
import { machine, table } from './report';

async function main(): Promise<void> {
  const baseline = process.env.BENCH_BASELINE ?? null;
  const sim = await startSimulatorWorker();
  const target = await postgresTarget();
  const gws: GatewayProcess[] = [];
  try {
    const env = (extra: Record<string, string> = {}) => ({
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_API_KEY: ADMIN_KEY,
      LOG_LEVEL: 'silent',
      RATE_LIMIT_PER_MINUTE: '0',
      ...simulatorEnv({ url: sim.url } as Parameters<typeof simulatorEnv>[0]),
      ...target.env(0),
      ...extra,
    });
    const start = async (extra: Record<string, string> = {}, dist?: string) => {
      const g = await startGateway(env(extra), dist);
      gws.push(g);
      return g;
    };
    const off = await start();
    for (const input of [
      { budgetType: 'GLOBAL' },
      { budgetType: 'USER', userId: 'bench-user', hardLimitEnabled: true },
      { budgetType: 'PROJECT', projectId: 'bench-project', hardLimitEnabled: true },
    ]) {
      await fetch(`${off.url}/graphql`, {
        method: 'POST',
        headers: HEADERS,
        body: JSON.stringify({
          query: 'mutation B($input: CreateBudgetInput!) { createBudget(input: $input) { id } }',
          variables: {
            input: {
              budgetName: `ab ${input.budgetType}`,
              limitType: 'COST',
              limitPeriod: 'MONTHLY',
              limitValue: 1e9,
              hardLimitEnabled: false,
              ...input,
            },
          },
        }),
      });
    }
    const base = baseline ? await start({}, baseline) : null;
    const on = await start({ BUDGET_LEASES: 'true' });
    const off2 = await start();
    const on2 = await start({ BUDGET_LEASES: 'true' });
    const url = (g: GatewayProcess) => `${g.url}/graphql`;
    const m = (g: GatewayProcess[]) => () => measure(g, url, COMPLETE_BODY, 16, target);
    const f3 = (v: number) => v.toFixed(3);
    const rows = await rounds([
      ...(base
        ? [{ key: 'base', label: 'baseline build (BENCH_BASELINE), one instance', instances: 1, concurrency: 16, run: m([base]) }]
        : []),
      { key: 'off', label: 'this build, leases off, one instance', instances: 1, concurrency: 16, run: m([off]) },
      { key: 'on', label: 'this build, BUDGET_LEASES=true, one instance', instances: 1, concurrency: 16, run: m([on]) },
      { key: 'off2', label: 'this build, leases off, two instances', instances: 2, concurrency: 16, run: m([off, off2]) },
      { key: 'on2', label: 'this build, BUDGET_LEASES=true, two instances', instances: 2, concurrency: 16, run: m([on, on2]) },
    ]);
    const lock = (r: Row) => {
      const n = r.pg ? [...r.pg.lockWaits.values()].reduce((s, v) => s + v, 0) : 0;
      const detail = r.pg ? [...r.pg.lockWaits].map(([k, v]) => `${k} ${v}`).join(', ') : '';
      return r.pg
        ? `${n} of ${r.pg.active} (${r.pg.active ? ((n / r.pg.active) * 100).toFixed(0) : 0}%)${detail ? `: ${detail}` : ''}`
        : '';
    };
    process.stdout.write(`Run ${new Date().toISOString()} on: ${machine()}\n\n`);
    process.stdout.write(
      `${table(
        ['server', 'instances', 'req/s', 'p50 ms', 'CPU ms/req gateway', 'CPU ms/req PostgreSQL', 'SQL/req', 'Lock waits'],
        [...rows.values()].map((r) => [
          r.label,
          r.instances,
          rps(r.throughput),
          f2(r.p50),
          f2(r.gatewayCpuMs),
          f2(r.pgCpuMs ?? NaN),
          f2(r.statements),
          lock(r),
        ]),
      )}\n`,
    );
    // Where the statements go: the hot statements per request by tag, and the ms each spends per request (the lane's time in it).
    const tags = [...new Set([...rows.values()].flatMap((r) => Object.keys(r.hot ?? {})))].sort();
    process.stdout.write(
      `\nHot statements per request by tag (count / ms in them):\n\n${table(
        ['server', ...tags],
        [...rows.values()].map((r) => [
          r.label,
          ...tags.map((t) => {
            const h = r.hot?.[t];
            return h && h.n ? `${f3(h.n / r.count)} / ${f3(h.ms / r.count)}` : '';
          }),
        ]),
      )}\n`,
    );
  } finally {
    for (const g of gws) await g.stop().catch(() => undefined);
    await target.drop();
    await sim.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
