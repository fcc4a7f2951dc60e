import { throttleByKey } from '../throttle';

describe('throttleByKey', () => {
  it('runs once per key per interval, and again once the interval has passed', async () => {
    let t = 0;
    const calls: string[] = [];
    const f = throttleByKey(
      async (k: string) => void calls.push(k),
      (k) => k,
      1000,
      () => t,
    );
    await f('a');
    await f('a');
    await f('b');
    t = 999;
    await f('a');
    t = 1000;
    await f('a');
    expect(calls).toEqual(['a', 'b', 'a']);
  });
});
