/** Machine description, table formatting and the README section writer shared by the suites. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

/** One line naming the machine: cores, memory, CPU model, Node version. */
export function machine(): string {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1].trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  return `nproc ${availableParallelism()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, CPU ${model}, Node ${process.version}; load average at start ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (a shared machine: other jobs ran alongside)`;
}

/** A Markdown table. */
export function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Writes `body` between `<!-- name:start -->` and `<!-- name:end -->` in `file`, keeping
 * everything else (other suites own other sections); appends the section if it is missing.
 */
export function writeSection(file: string, name: string, body: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  const current = existsSync(file)
    ? readFileSync(file, 'utf8')
    : '# Benchmarks\n\nRun with `npm run bench` (all suites) or `npm run bench -- <suite>`.\n';
  const i = current.indexOf(start);
  const j = current.indexOf(end);
  const next = i >= 0 && j > i ? current.slice(0, i) + block + current.slice(j + end.length) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}
