/**
 * The two example programs (examples/openai-chat.mjs, examples/anthropic-chat.mjs), run as
 * they are, as child processes, with only their SDK's base URL and key pointed at the gateway
 * (which talks to the simulator): under the budgets below they get the requested model, then a
 * fallback, then a refusal (402), and the costs they print add up exactly to what the budget
 * charged.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { completionHelpers } from '../../utils/completions';
import { useSimulatedServer } from '../../utils/fixture';
import { ADMIN_KEY, type TestServer } from '../../utils/server';
import { parseUnits } from '../../../src/common/money';

const run = promisify(execFile);
const root = resolve(__dirname, '../../..');
let s: TestServer;
const { uniq, budget, status } = completionHelpers(() => s);

const fx = useSimulatedServer();
beforeAll(async () => {
  ({ s } = fx);
});

type Line = { call: number; stream?: boolean; model?: string; cost?: string | number | null; error?: { status: number; code?: string } };

/** The layered budgets of the example user: a soft $0.0005 a day that prefers deepseek-chat past 90%, and a hard 150 tokens a day. */
async function budgetsFor(user: string) {
  const cost = await budget({
    budgetType: 'USER',
    userId: user,
    limitValue: 0.0005,
    enableFallback: true,
    fallbackProvider: 'deepseek',
    fallbackModel: 'deepseek-chat',
    fallbackThreshold: 0.9,
  });
  await budget({ budgetType: 'USER', userId: user, limitType: 'TOKENS', limitValue: 150, hardLimitEnabled: true });
  return cost;
}

async function runExample(file: string, env: Record<string, string>): Promise<Line[]> {
  const { stdout } = await run(process.execPath, [resolve(root, 'examples', file)], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', QUESTIONS: '10', ...env },
    timeout: 60_000,
  });
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
}

function expectBudgetStory(lines: Line[], requested: string) {
  const served = lines.filter((l) => !l.error);
  expect(served[0].model).toBe(requested);
  // Past 90% of the cost budget the fallback is preferred (it runs wherever it fits the tokens budget).
  expect(served[1].model).toBe('deepseek-chat');
  expect(served.some((l) => l.stream)).toBe(true);
  expect(lines[lines.length - 1].error).toMatchObject({ status: 402, code: 'BUDGET_EXCEEDED' });
  expect(served.every((l) => l.cost !== null && l.cost !== undefined)).toBe(true);
  return served.reduce((sum, l) => sum + parseUnits(String(l.cost)), 0n);
}

describe('the example programs, unmodified', () => {
  it('openai-chat.mjs gets budgets, a fallback, a refusal and exact costs by its base URL and key alone', async () => {
    const user = uniq('example');
    const b = await budgetsFor(user);
    const lines = await runExample('openai-chat.mjs', { OPENAI_BASE_URL: `${s.app.url}/v1`, OPENAI_API_KEY: ADMIN_KEY, USER_ID: user });
    const total = expectBudgetStory(lines, 'gpt-4o');
    expect(parseUnits(String((await status(b.id)).used))).toBe(total);
  });

  it('anthropic-chat.mjs gets the same, with the fallback answered in Anthropic format', async () => {
    const user = uniq('example');
    const b = await budgetsFor(user);
    const lines = await runExample('anthropic-chat.mjs', {
      ANTHROPIC_BASE_URL: `${s.app.url}/anthropic`,
      ANTHROPIC_API_KEY: ADMIN_KEY,
      USER_ID: user,
    });
    const total = expectBudgetStory(lines, 'claude-3-5-sonnet-latest');
    expect(parseUnits(String((await status(b.id)).used))).toBe(total);
  });
});
