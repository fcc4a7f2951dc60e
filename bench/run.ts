/**
 * `npm run bench [-- suite…]`: runs the named suites (default: all) and writes each one's
 * section of bench/README.md. Suites: complete, path (BENCH_BASELINE=<dist/ of another build> adds
 * it to the A/B), analytics (BENCH_ANALYTICS_ROWS, default
 * 1000000, comma-separated for several sizes; BENCH_ANALYTICS_KEEP=1 keeps the seeded databases),
 * console (BENCH_CONSOLE_ROWS, default 0,1000000: usage rows under the 1,000 budgets), compatible
 * (the OpenAI-compatible door, JSON and streams).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { benchAnalytics } from './analytics';
import { benchComplete } from './complete';
import { benchCompatible } from './compatible';
import { benchConsole } from './console';
import { benchPath } from './path';
import { writeSection } from './report';

/** A suite returns its README section (Markdown); the runner writes it between its markers. */
type Suite = () => Promise<string>;

/** bench/README.md in the source tree (this file runs from dist/bench). */
const README = join(__dirname, '..', '..', 'bench', 'README.md');

const SUITES: Record<string, Suite> = {
  complete: () => {
    const dir = join(tmpdir(), 'bg-bench-profiles');
    mkdirSync(dir, { recursive: true });
    return benchComplete({ profileDir: process.env.BENCH_PROFILE === '0' ? null : dir });
  },
  path: () => benchPath({ baseline: process.env.BENCH_BASELINE ?? null }),
  compatible: () => benchCompatible(),
  analytics: () =>
    benchAnalytics({
      rows: (process.env.BENCH_ANALYTICS_ROWS ?? '1000000').split(',').map(Number),
      keep: process.env.BENCH_ANALYTICS_KEEP === '1',
    }),
  console: () => benchConsole({ rows: (process.env.BENCH_CONSOLE_ROWS ?? '0,1000000').split(',').map(Number) }),
};

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((s) => !(s in SUITES));
  if (unknown.length) throw new Error(`unknown suite(s) ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}`);
  for (const name of asked.length ? asked : Object.keys(SUITES)) {
    const started = Date.now();
    const section = await SUITES[name]();
    writeSection(README, name, section);
    process.stdout.write(`${section}\n\n(${name}: ${((Date.now() - started) / 1000).toFixed(0)} s; written to bench/README.md)\n`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
