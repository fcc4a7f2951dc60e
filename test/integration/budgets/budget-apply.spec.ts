import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { applyBudgets, parseBudgetSpecs, type BudgetSpec } from '../../../src/budgets/budget-apply';
import { Budget } from '../../../src/budgets/budget.entity';
import { BudgetService } from '../../../src/budgets/budget.service';
import { AppError } from '../../../src/common/errors';
import { PROVIDER_IDS } from '../../../src/providers/provider.types';
import { useMigratedDatabase } from '../../utils/database';
import { clearOfPeriodBoundary } from '../../utils/wait';

const f = useMigratedDatabase();
const service = new BudgetService({ knownProviders: PROVIDER_IDS, configuredChannels: new Set() });

beforeEach(async () => {
  await f.db.orm.em.fork().nativeDelete(Budget, {});
});

const example = (): BudgetSpec[] => parseBudgetSpecs(parseYaml(readFileSync(resolve(__dirname, '../../../examples/budgets.yaml'), 'utf8')));
const apply = (specs: BudgetSpec[], dryRun = false) => applyBudgets(f.db.orm.em.fork(), service, specs, { dryRun });
const rows = () => f.db.orm.em.fork().find(Budget, {}, { orderBy: { name: 'asc' } });
/** Every column but the bookkeeping timestamps, to compare states of the table. */
const snapshot = async () => (await rows()).map(({ updatedAt: _u, createdAt: _c, ...rest }) => rest);

// Every test here reads or writes the current budget period by the wall clock: none runs across a period boundary.
beforeEach(() => clearOfPeriodBoundary());

describe('applyBudgets', () => {
  it('creates the example budgets, and a second run changes nothing', async () => {
    const first = await apply(example());
    expect(first.map((c) => c.action)).toEqual(['create', 'create', 'create']);
    const after = await snapshot();
    expect(after.map((b) => [b.name, b.budgetType, b.limitPeriod])).toEqual([
      ['Global monthly', 'GLOBAL', 'MONTHLY'],
      ['project-456 weekly', 'PROJECT', 'WEEKLY'],
      ['user-123 daily', 'USER', 'DAILY'],
    ]);
    const user = after.find((b) => b.name === 'user-123 daily')!;
    expect(user).toMatchObject({ userId: 'user-123', enableFallback: true, fallbackProvider: 'deepseek', fallbackModel: 'deepseek-chat' });
    expect(after.find((b) => b.name === 'project-456 weekly')).toMatchObject({ projectId: 'project-456', hardLimitEnabled: true });

    const updatedAt = (await rows()).map((b) => b.updatedAt.getTime());
    const second = await apply(example());
    expect(second.map((c) => [c.action, c.changes])).toEqual([
      ['unchanged', []],
      ['unchanged', []],
      ['unchanged', []],
    ]);
    expect(await snapshot()).toEqual(after);
    expect((await rows()).map((b) => b.updatedAt.getTime())).toEqual(updatedAt);
  });

  it('updates only the changed fields of an existing budget and leaves the rest alone', async () => {
    await apply(example());
    const before = await snapshot();
    const specs = example();
    specs[1] = { ...specs[1], limitValue: 75.5, warningThreshold: undefined } as BudgetSpec;
    delete specs[1].warningThreshold;
    const plan = await apply(specs);
    expect(plan.map((c) => c.action)).toEqual(['unchanged', 'update', 'unchanged']);
    expect(plan[1].changes).toEqual([{ field: 'limitValue', from: 50, to: 75.5 }]);
    const after = await snapshot();
    const user = after.find((b) => b.name === 'user-123 daily')!;
    expect(user.limitValue).toMatch(/^75\.50*$/);
    // Everything else, including the omitted warningThreshold, is as it was.
    const beforeUser = before.find((b) => b.name === 'user-123 daily')!;
    expect({ ...user, limitValue: null }).toEqual({ ...beforeUser, limitValue: null });
    expect(after.filter((b) => b.name !== 'user-123 daily')).toEqual(before.filter((b) => b.name !== 'user-123 daily'));
  });

  it('a dry run reports the plan and writes nothing', async () => {
    const plan = await apply(example(), true);
    expect(plan.map((c) => [c.name, c.action, c.id])).toEqual([
      ['Global monthly', 'create', null],
      ['user-123 daily', 'create', null],
      ['project-456 weekly', 'create', null],
    ]);
    expect(await rows()).toEqual([]);

    await apply(example());
    const before = await snapshot();
    const specs = example();
    specs[2] = { ...specs[2], limitValue: 600 };
    const dry = await apply(specs, true);
    expect(dry[2]).toMatchObject({ action: 'update', changes: [{ field: 'limitValue', from: 500, to: 600 }] });
    expect(await snapshot()).toEqual(before);
  });

  it('an invalid entry fails naming its field, and nothing from the file is written', async () => {
    const specs = example();
    specs[2] = { ...specs[2], warningThreshold: 1.5 };
    const err = await apply(specs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({
      code: 'BAD_USER_INPUT',
      extensions: { field: 'warningThreshold', entry: 2, budgetName: 'project-456 weekly' },
    });
    expect((err as Error).message).toContain('warningThreshold');
    // The two valid entries before it were rolled back with it.
    expect(await rows()).toEqual([]);
  });

  it('refuses to change what the API cannot change on an existing budget', async () => {
    await apply(example());
    const before = await snapshot();
    const specs = example();
    specs[0] = { ...specs[0], limitValue: 20_000 };
    specs[1] = { ...specs[1], limitPeriod: 'WEEKLY' } as BudgetSpec;
    await expect(apply(specs)).rejects.toMatchObject({ extensions: { field: 'limitPeriod', entry: 1 } });
    expect(await snapshot()).toEqual(before);
  });
});

describe('parseBudgetSpecs', () => {
  const base = { budgetName: 'x', budgetType: 'GLOBAL', limitType: 'COST', limitPeriod: 'DAILY', limitValue: 1 };

  it('accepts a list or { budgets: [...] }, trims names, and drops nulls of non-nullable fields', () => {
    expect(parseBudgetSpecs({ budgets: [{ ...base, budgetName: ' x ', warningThreshold: null, fallbackModel: null }] })).toEqual([
      { ...base, fallbackModel: null },
    ]);
  });

  it.each([
    [[{ ...base, limitValue: '10' }], 'budgets[0].limitValue'],
    [[{ ...base, budgetType: 'TEAM' }], 'budgets[0].budgetType'],
    [[{ ...base, limitVaule: 10 }], 'budgets[0].limitVaule'],
    [[{ budgetName: 'x' }], 'budgets[0].budgetType'],
    [[base, base], 'budgets[1].budgetName'],
    [[{ ...base, alertChannels: ['SMS'] }], 'budgets[0].alertChannels'],
    [{ nope: 1 }, 'budgets'],
  ])('rejects %j naming %s', (raw, field) => {
    expect(() => parseBudgetSpecs(raw)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', extensions: { field } }) as Error);
  });
});
