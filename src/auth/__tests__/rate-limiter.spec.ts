import { RateLimiter } from '../rate-limiter';

describe('RateLimiter', () => {
  it('is off at 0 per minute', () => {
    const r = new RateLimiter({ perMinute: 0 });
    for (let i = 0; i < 10_000; i++) expect(r.take('k').ok).toBe(true);
  });

  it('allows a burst of perMinute, then refills at perMinute/60 per second', () => {
    let now = 1_000_000;
    const r = new RateLimiter({ perMinute: 60, now: () => now });
    for (let i = 0; i < 60; i++) expect(r.take('k').ok).toBe(true);
    expect(r.take('k')).toEqual({ ok: false, retryAfterSeconds: 1 });
    now += 999;
    expect(r.take('k').ok).toBe(false);
    now += 2;
    expect(r.take('k').ok).toBe(true);
    expect(r.take('k').ok).toBe(false);
  });

  it('says how long until the next token', () => {
    let now = 0;
    const r = new RateLimiter({ perMinute: 2, now: () => now });
    r.take('k');
    r.take('k');
    expect(r.take('k')).toEqual({ ok: false, retryAfterSeconds: 30 });
    now += 20_000;
    expect(r.take('k')).toEqual({ ok: false, retryAfterSeconds: 10 });
  });

  it('never holds more than perMinute tokens, however long a key was idle', () => {
    let now = 0;
    const r = new RateLimiter({ perMinute: 3, now: () => now });
    now += 3_600_000;
    let granted = 0;
    while (r.take('k').ok) granted++;
    expect(granted).toBe(3);
  });

  it('keeps one bucket per key', () => {
    const r = new RateLimiter({ perMinute: 1, now: () => 0 });
    expect(r.take('a').ok).toBe(true);
    expect(r.take('a').ok).toBe(false);
    expect(r.take('b').ok).toBe(true);
  });
});
