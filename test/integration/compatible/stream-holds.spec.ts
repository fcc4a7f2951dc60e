/**
 * docs/ledger.md invariant 8 at the service: a stream's client that is gone before the hold, or
 * leaves while the hold is being made, is released with nothing charged and nothing called; one
 * that leaves after the end changes nothing.
 */
import type { CompletionRequest } from '../../../src/completions/completion.validation';
import { ApiKeyRole } from '../../../src/common/enums';
import type { StreamSink } from '../../../src/completions/completion-run';
import type { ProviderSimulator } from '../../fixtures/provider-simulator';
import { completionHelpers, MESSAGES } from '../../utils/completions';
import { holdsNone, usageOf } from '../../utils/compatible';
import { useSimulatedServer } from '../../utils/fixture';
import type { TestServer } from '../../utils/server';

let sim: ProviderSimulator;
let s: TestServer;
const fx = useSimulatedServer();
beforeAll(() => ({ sim, s } = fx));
const { uniq, budget, status } = completionHelpers(() => s);
const admin = { keyId: 'env-admin', name: 'ADMIN_API_KEY', role: ApiKeyRole.ADMIN, userId: null, projectId: null, service: null };
const request = (userId: string): CompletionRequest => ({
  messages: MESSAGES as CompletionRequest['messages'],
  provider: 'openai',
  model: 'gpt-4o',
  userId,
  projectId: null,
  service: null,
  endpoint: null,
  maxTokens: 20,
  temperature: null,
  idempotencyKey: null,
});
const sinkOf = (abort: AbortController, events: string[] = []): StreamSink => ({
  signal: abort.signal,
  event: (e) => void events.push(e.type),
});

describe('stream holds', () => {
  it('a client gone before the hold: nothing held, called or charged', async () => {
    const user = uniq('u');
    const b = await budget({ budgetType: 'USER', userId: user });
    const abort = new AbortController();
    abort.abort();
    await expect(s.app.services.completions.complete(admin, request(user), sinkOf(abort))).rejects.toMatchObject({
      code: 'CLIENT_DISCONNECTED',
    });
    expect(sim.control.requestCount).toBe(0);
    expect(await status(b.id)).toMatchObject({ used: 0, reserved: 0 });
    expect(await usageOf(s, user)).toEqual([]);
  });

  it('a client that leaves while the hold is made: released, nothing called or charged', async () => {
    const user = uniq('u');
    const b = await budget({ budgetType: 'USER', userId: user });
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
    expect(sim.control.requestCount).toBe(0);
    expect(holdsNone(s)).toBe(true);
    expect(await status(b.id)).toMatchObject({ used: 0, reserved: 0 });
    expect(await usageOf(s, user)).toEqual([]);
  });

  it('a client that leaves after the end changes nothing', async () => {
    const user = uniq('u');
    const b = await budget({ budgetType: 'USER', userId: user });
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
