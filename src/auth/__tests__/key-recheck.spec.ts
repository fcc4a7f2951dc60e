import { createLogger } from '../../common/logger';
import { ConnectionRegistry } from '../connection-registry';
import { KeyRecheckJob } from '../key-recheck';

const socket = () => ({
  closes: [] as number[],
  close(code?: number) {
    this.closes.push(code ?? 0);
  },
});

/** An `invalidAmong` whose answer the test releases by hand, counting the calls. */
function gate(invalid: string[]) {
  let release!: () => void;
  const calls: string[][] = [];
  const ready = new Promise<void>((r) => (release = r));
  return { calls, release: () => release(), invalidAmong: async (ids: string[]) => (calls.push(ids), await ready, invalid) };
}

describe('KeyRecheckJob', () => {
  it('joins a pass already running, and stop waits for it before the revoked key is closed', async () => {
    const connections = new ConnectionRegistry();
    const [live, gone] = [socket(), socket()];
    connections.add('live', live);
    connections.add('gone', gone);
    const keys = gate(['gone']);
    const job = new KeyRecheckJob({ connections, apiKeys: keys, intervalMs: 3_600_000, log: createLogger('silent') });
    job.start();
    const first = job.runOnce();
    expect(job.runOnce()).toBe(first);
    let stopped = false;
    const stopping = job.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    keys.release();
    await stopping;
    expect(keys.calls).toEqual([['live', 'gone']]);
    expect([live.closes, gone.closes]).toEqual([[], [4403]]);
  });

  it('logs a failed pass instead of throwing, and runs again afterwards', async () => {
    const lines: string[] = [];
    const log = createLogger('warn', { write: (l: string) => void lines.push(l) });
    const connections = new ConnectionRegistry();
    connections.add('k', socket());
    let fail = true;
    const job = new KeyRecheckJob({
      connections,
      apiKeys: {
        invalidAmong: async () => {
          if (fail) throw new Error('db down');
          return [];
        },
      },
      intervalMs: 3_600_000,
      log,
    });
    await job.runOnce();
    fail = false;
    await job.runOnce();
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['could not re-check WebSocket keys']);
  });
});
