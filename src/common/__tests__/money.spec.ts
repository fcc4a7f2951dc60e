import { formatUnits, formatUsd, mulDivRound, numberToUnits, parseUnits, SCALE, unitsToNumber } from '../money';

describe('parseUnits', () => {
  it('reads decimal strings into units of 1e-12', () => {
    expect(SCALE).toBe(12);
    expect(parseUnits('1')).toBe(1_000_000_000_000n);
    expect(parseUnits('12.5')).toBe(12_500_000_000_000n);
    expect(parseUnits('0.000000000001')).toBe(1n);
    expect(parseUnits('-0.000000140000')).toBe(-140_000n);
    expect(parseUnits('+3')).toBe(3_000_000_000_000n);
    expect(parseUnits('  7.25  ')).toBe(7_250_000_000_000n);
    expect(parseUnits('.5')).toBe(500_000_000_000n);
    expect(parseUnits('5.')).toBe(5_000_000_000_000n);
    expect(parseUnits('0')).toBe(0n);
    expect(parseUnits('1.100000000000000')).toBe(1_100_000_000_000n); // trailing zeros beyond 12 places are fine
  });

  it('reads bigints as whole units and numbers at their shortest decimal form, exponents included', () => {
    expect(parseUnits(3n)).toBe(3_000_000_000_000n);
    expect(parseUnits(0.1)).toBe(100_000_000_000n);
    expect(parseUnits(3e-7)).toBe(300_000n);
    expect(parseUnits(-2.5e-9)).toBe(-2_500n);
    expect(parseUnits(1.5e21)).toBe(1_500_000_000_000_000_000_000_000_000_000_000n);
    expect(parseUnits(12e3)).toBe(12_000_000_000_000_000n);
  });

  it('refuses what is not a decimal, or has more than 12 places', () => {
    for (const bad of ['', '.', '-', 'abc', '1.2.3', '1e5', '0x10', '1,5', '--1']) expect(() => parseUnits(bad)).toThrow(RangeError);
    expect(() => parseUnits('0.0000000000001')).toThrow(/more than 12 decimal places/);
    expect(() => parseUnits('x')).toThrow('not a decimal: x');
  });
});

describe('formatUnits', () => {
  it('writes plain decimals with trailing zeros trimmed', () => {
    expect(formatUnits(420_000_000_000n)).toBe('0.42');
    expect(formatUnits(12_500_000_000_000n)).toBe('12.5');
    expect(formatUnits(1n)).toBe('0.000000000001');
    expect(formatUnits(3_000_000_000_000n)).toBe('3');
    expect(formatUnits(0n)).toBe('0');
    expect(formatUnits(-140_000n)).toBe('-0.00000014');
    expect(formatUnits(-5_000_000_000_000n)).toBe('-5');
  });

  it('round-trips with parseUnits', () => {
    for (const v of [0n, 1n, -1n, 999_999_999_999n, 1_000_000_000_001n, -123_456_789_012_345n]) expect(parseUnits(formatUnits(v))).toBe(v);
  });
});

describe('numberToUnits', () => {
  it('takes a float at its shortest decimal form, rounded half-up at 12 places', () => {
    expect(numberToUnits(0.8)).toBe(800_000_000_000n);
    expect(numberToUnits(0.95)).toBe(950_000_000_000n);
    expect(numberToUnits(2)).toBe(2_000_000_000_000n);
    expect(numberToUnits(1.0000000000005)).toBe(1_000_000_000_001n); // 13th place 5: up
    expect(numberToUnits(1.0000000000004)).toBe(1_000_000_000_000n); // 13th place 4: down
    expect(numberToUnits(1e-13)).toBe(0n);
    expect(numberToUnits(5e-13)).toBe(1n);
    expect(numberToUnits(-0.5)).toBe(-500_000_000_000n);
    expect(numberToUnits(-1.0000000000005)).toBe(-1_000_000_000_001n);
    expect(numberToUnits(1e21)).toBe(1_000_000_000_000_000_000_000_000_000_000_000n);
  });

  it('refuses NaN and infinities', () => {
    for (const bad of [NaN, Infinity, -Infinity]) expect(() => numberToUnits(bad)).toThrow(RangeError);
    expect(() => numberToUnits(NaN)).toThrow('not a finite number: NaN');
  });
});

describe('unitsToNumber', () => {
  it('gives the nearest float', () => {
    expect(unitsToNumber(420_000_000_000n)).toBe(0.42);
    expect(unitsToNumber(-1n)).toBe(-1e-12);
  });
});

describe('mulDivRound', () => {
  it('multiplies then divides, rounding half away from zero', () => {
    expect(mulDivRound(10n, 3n, 4n)).toBe(8n); // 7.5 → 8
    expect(mulDivRound(10n, 1n, 4n)).toBe(3n); // 2.5 → 3
    expect(mulDivRound(9n, 1n, 4n)).toBe(2n); // 2.25 → 2
    expect(mulDivRound(11n, 1n, 4n)).toBe(3n); // 2.75 → 3
    expect(mulDivRound(12n, 1n, 4n)).toBe(3n); // exact
    expect(mulDivRound(-10n, 1n, 4n)).toBe(-3n); // -2.5 → -3
    expect(mulDivRound(-9n, 1n, 4n)).toBe(-2n); // -2.25 → -2
    expect(mulDivRound(-11n, 1n, 4n)).toBe(-3n); // -2.75 → -3
    expect(mulDivRound(0n, 5n, 7n)).toBe(0n);
  });
});

describe('formatUsd', () => {
  it('shows cents from a cent up, two significant digits below, and $0.00 for zero', () => {
    expect(formatUsd(475_000_000_000_000n)).toBe('$475.00');
    expect(formatUsd(10_000_000_000n)).toBe('$0.01');
    expect(formatUsd(9_999_999_999n)).toBe('$0.010');
    expect(formatUsd(4_200_000_000n)).toBe('$0.0042');
    expect(formatUsd(0n)).toBe('$0.00');
    expect(formatUsd(-20_000_000_000_000n)).toBe('$-20.00');
    expect(formatUsd(-4_200_000_000n)).toBe('$-0.0042');
  });
});
