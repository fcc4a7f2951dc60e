import { ConfigError, loadConfig } from '../config';

describe('reliability settings', () => {
  it('defaults the sweep to every 10 s and MAX_IN_FLIGHT to 256', () => {
    const c = loadConfig({});
    expect(c.budget.sweepIntervalMs).toBe(10_000);
    expect(c.maxInFlight).toBe(256);
  });

  it('reads BUDGET_SWEEP_INTERVAL_MS and MAX_IN_FLIGHT (0 = no limit)', () => {
    const c = loadConfig({ BUDGET_SWEEP_INTERVAL_MS: '200', MAX_IN_FLIGHT: '0' });
    expect(c.budget.sweepIntervalMs).toBe(200);
    expect(c.maxInFlight).toBe(0);
  });

  it('stops on a bad value with one line naming the variable', () => {
    expect(() => loadConfig({ BUDGET_SWEEP_INTERVAL_MS: '10' })).toThrow(new ConfigError('BUDGET_SWEEP_INTERVAL_MS=10 is invalid: expected a whole number from 100 to 3600000'));
    expect(() => loadConfig({ MAX_IN_FLIGHT: '-1' })).toThrow(/^MAX_IN_FLIGHT=-1 is invalid/);
  });
});
