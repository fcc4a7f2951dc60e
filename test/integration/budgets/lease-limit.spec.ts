/**
 * With escrow leases (BUDGET_LEASES=true here, whatever TEST_BUDGET_LEASES says) a hard budget's limit
 * lowered mid-period below what is charged plus this instance's grant: the lease was sized for the old
 * limit and an item on a lease is checked against the grant only, so a batch of requests decided from
 * the same figures went on the lease past the new limit. The lease is now returned first and the items
 * held on the row, where the new limit is checked (docs/ledger.md, "What leases cost and gain").
 */
import { completionHelpers, GPT4O_COST } from '../../utils/completions';
import { useSimulatedServer } from '../../utils/fixture';
import { ok } from '../../utils/server';
import { clearOfPeriodBoundary } from '../../utils/wait';
import { UpdateBudgetDocument } from '../../generated/graphql';
import { formatUnits, parseUnits } from '../../../src/common/money';

const fx = useSimulatedServer({ BUDGET_LEASES: 'true' });
const { uniq, hardUserBudget, complete, status } = completionHelpers(() => fx.s);

beforeEach(() => clearOfPeriodBoundary());

it('never charges past a hard limit lowered below what the lease was granted, with 30 requests at once', async () => {
  const user = uniq('u');
  const budget = await hardUserBudget(user);
  for (let i = 0; i < 5; i++) ok(await complete({ userId: user }));
  const used = parseUnits((await status(budget.id)).used);
  const limit = used + 3n * GPT4O_COST;
  ok(await fx.s.gql(UpdateBudgetDocument, { id: budget.id, input: { limitValue: Number(formatUnits(limit)) } }));

  const answers = await Promise.all(Array.from({ length: 30 }, () => complete({ userId: user })));
  const served = answers.filter((r) => !r.errors?.length).length;
  const after = await status(budget.id);
  expect(parseUnits(after.used)).toBeLessThanOrEqual(limit);
  expect(parseUnits(after.reserved)).toBe(0n);
  expect(served).toBeLessThanOrEqual(3);
  expect(answers.filter((r) => r.errors?.[0]?.extensions?.code === 'BUDGET_EXCEEDED').length).toBe(30 - served);
});
