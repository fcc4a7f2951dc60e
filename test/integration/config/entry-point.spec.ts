/**
 * README: "A bad value stops the server at start with one line naming the variable and what it
 * accepts" — run through the real entry point (dist/src/main.js, compiled by ensureBuilt when
 * stale), from an empty directory so no .env is read: exit code 2, exactly one line on stderr,
 * nothing on stdout, no database opened.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureBuilt } from '../../reliability/harness';

const MAIN = resolve(__dirname, '../../../dist/src/main.js');
let cwd: string;
beforeAll(() => {
  ensureBuilt();
  cwd = mkdtempSync(join(tmpdir(), 'bg-config-'));
}, 180_000);
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    // DATA_DIR inside the empty directory: if the server got as far as opening the embedded database, it would show there.
    const child = spawn(process.execPath, [MAIN], {
      cwd,
      env: { PATH: process.env.PATH ?? '', DATA_DIR: join(cwd, 'data'), PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // A bound for a hang, not a speed target: loading the app's modules took over 30 s on a saturated machine.
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

describe('a bad configuration value', () => {
  it.each([
    [
      'BUDGET_SWEEP_INTERVAL_MS',
      '10',
      /^budget-gateway: BUDGET_SWEEP_INTERVAL_MS=10 is invalid: expected a whole number from 100 to 3600000\n$/,
    ],
    ['MAX_IN_FLIGHT', '-1', /^budget-gateway: MAX_IN_FLIGHT=-1 is invalid: .+\n$/],
    ['BUDGET_ENFORCE_LIMITS', 'maybe', /^budget-gateway: BUDGET_ENFORCE_LIMITS=maybe is invalid: .+\n$/],
    ['PORT', 'eighty', /^budget-gateway: PORT=eighty is invalid: .+\n$/],
  ])(
    '%s=%s exits 2 with one line on stderr naming it',
    async (name, value, line) => {
      const r = await run({ [name]: value });
      expect(r).toEqual({ code: 2, stdout: '', stderr: expect.stringMatching(line) });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(readdirSync(cwd)).toEqual([]);
    },
    180_000,
  );
});
