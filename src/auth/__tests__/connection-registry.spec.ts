import { ConnectionRegistry } from '../connection-registry';

const socket = () => ({
  closes: [] as [number | undefined, string | undefined][],
  close(code?: number, reason?: string) {
    this.closes.push([code, reason]);
  },
});

describe('ConnectionRegistry', () => {
  it('closes every connection of a revoked key with 4403 and forgets them', () => {
    const r = new ConnectionRegistry();
    const [a, b, c] = [socket(), socket(), socket()];
    r.add('k1', a);
    r.add('k1', b);
    r.add('k2', c);
    expect(r.closeKey('k1')).toBe(2);
    expect(a.closes).toEqual([[4403, 'API key revoked']]);
    expect(b.closes).toEqual([[4403, 'API key revoked']]);
    expect(c.closes).toEqual([]);
    expect(r.keyIds()).toEqual(['k2']);
    expect(r.closeKey('k1')).toBe(0);
  });

  it('stops tracking a closed connection', () => {
    const r = new ConnectionRegistry();
    const a = socket();
    r.add('k', a);
    r.remove('k', a);
    expect(r.size).toBe(0);
    expect(r.closeKey('k')).toBe(0);
  });

  it('sweeps: asks once about the tracked keys and closes those reported invalid', async () => {
    const r = new ConnectionRegistry();
    const [a, b] = [socket(), socket()];
    r.add('live', a);
    r.add('gone', b);
    const asked: string[][] = [];
    expect(await r.sweep(async (ids) => (asked.push(ids), ids.filter((i) => i === 'gone')))).toBe(1);
    expect(asked).toEqual([['live', 'gone']]);
    expect(b.closes).toHaveLength(1);
    expect(a.closes).toHaveLength(0);
    expect(
      await new ConnectionRegistry().sweep(async () => {
        throw new Error('not called');
      }),
    ).toBe(0);
  });
});
