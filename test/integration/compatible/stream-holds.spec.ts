/**
 * docs/ledger.md invariant 8 at the service: a stream's client that is gone before the hold, or
 * leaves while the hold is being made, is released with nothing charged and nothing called; one
 * that leaves after the end changes nothing.
 */
import type { StreamSink } from '../../../src/completions/completion-run';
import { ADMIN_AUTH as admin, completionHelpers, completionRequest } from '../../utils/completions';
import { holdsNone, usageOf } from '../../utils/compatible';
import { useSimulatedServer } from '../../utils/fixture';

const { sim, s } = useSimulatedServer();
const { uniq, budget, status } = completionHelpers(() => s);
const request = (userId: string) => completionRequest({ userId });
const sinkOf = (abort: AbortController, events: string[] = []): StreamSink => ({
  signal: abort.signal,
  event: (e) => void events.push(e.type),
});
/** A fresh user and a USER budget of theirs. */
async function userWithBudget() {
  const user = uniq('u');
  return { user, b: await budget({ budgetType: 'USER', userId: user }) };
}
/** No provider call made, and nothing charged to `user` or their budget. */
async function expectNothingCalledOrCharged(user: string, budgetId: string) {
  expect(sim.control.requestCount).toBe(0);
  expect(await status(budgetId)).toMatchObject({ used: 0, reserved: 0 });
  expect(await usageOf(s, user)).toEqual([]);
}

describe('stream holds', () => {
  it('a client gone before the hold: nothing held, called or charged', async () => {
    const { user, b } = await userWithBudget();
    const abort = new AbortController();
    abort.abort();
    await expect(s.app.services.completions.complete(admin, request(user), sinkOf(abort))).rejects.toMatchObject({
      code: 'CLIENT_DISCONNECTED',
    });
    await expectNothingCalledOrCharged(user, b.id);
  });

  it('a client that leaves while the hold is made: released, nothing called or charged', async () => {
    const { user, b } = await userWithBudget();
    const abort = new AbortController();
    const ledger = s.app.services.completions.ledger;
    const hold = ledger.hold.bind(ledger);
    const spy = jest.spyOn(ledger, 'hold').mockImplementation(async (job) => {
      const held = await hold(job);
      abort.abort(); // the socket closes while the hold statement ran
      return held;
    });
    try {
      await expect(s.app.services.completions.complete(admin, request(user), sinkOf(abort))).rejects.toMatchObject({
        code: 'CLIENT_DISCONNECTED',
      });
    } finally {
      spy.mockRestore();
    }
    expect(holdsNone(s)).toBe(true);
    await expectNothingCalledOrCharged(user, b.id);
  });

  it('a client that leaves after the end changes nothing', async () => {
    const { user, b } = await userWithBudget();
    const abort = new AbortController();
    const events: string[] = [];
    const out = await s.app.services.completions.complete(admin, request(user), sinkOf(abort, events));
    abort.abort();
    expect(events[events.length - 1]).toBe('done');
    expect(out.finishReason).toBe('stop');
    const [row] = await usageOf(s, user);
    expect(row).toMatchObject({ success: true, errorCode: null, outputTokens: 20 });
    expect(await status(b.id)).toMatchObject({ reserved: 0, used: row.totalCost });
  });
});
