import { BudgetState } from '../../common/enums';
import { budgetState, percentage, reaches } from '../budget-state';

const U = 1_000_000_000_000n; // one unit (1e-12 scale)

describe('reaches', () => {
  it('is amount / limit ≥ ratio, exactly at the boundary', () => {
    expect(reaches(80n * U, 100n * U, 0.8)).toBe(true);
    expect(reaches(80n * U - 1n, 100n * U, 0.8)).toBe(false);
    expect(reaches(80n * U + 1n, 100n * U, 0.8)).toBe(true);
    expect(reaches(0n, 100n * U, 0)).toBe(true);
    expect(reaches(100n * U, 100n * U, 1)).toBe(true);
    expect(reaches(100n * U - 1n, 100n * U, 1)).toBe(false);
  });
});

describe('percentage', () => {
  it('is 100 * amount / limit to six decimals (truncated), 0 for a limit of 0 or less', () => {
    expect(percentage(1n, 3n)).toBe(33.333333);
    expect(percentage(2n, 3n)).toBe(66.666666);
    expect(percentage(120n * U, 100n * U)).toBe(120);
    expect(percentage(0n, 100n)).toBe(0);
    expect(percentage(5n, 0n)).toBe(0);
    expect(percentage(5n, -1n)).toBe(0);
    expect(percentage(1n, 1n)).toBe(100);
  });
});

describe('budgetState', () => {
  const t = { warningThreshold: 0.8, criticalThreshold: 0.95, fallbackThreshold: 0.9, enableFallback: true };
  const at = (amount: bigint, over: Partial<typeof t> = {}) => budgetState(amount, 100n * U, { ...t, ...over });

  it('walks OK → WARNING → FALLBACK (which wins over CRITICAL) → EXCEEDED at 100%', () => {
    expect(at(0n)).toBe(BudgetState.OK);
    expect(at(80n * U - 1n)).toBe(BudgetState.OK);
    expect(at(80n * U)).toBe(BudgetState.WARNING);
    expect(at(90n * U - 1n)).toBe(BudgetState.WARNING);
    expect(at(90n * U)).toBe(BudgetState.FALLBACK);
    expect(at(95n * U)).toBe(BudgetState.FALLBACK);
    expect(at(100n * U - 1n)).toBe(BudgetState.FALLBACK);
    expect(at(100n * U)).toBe(BudgetState.EXCEEDED);
    expect(at(150n * U)).toBe(BudgetState.EXCEEDED);
  });

  it('has no FALLBACK state when fallback is off: CRITICAL from its threshold', () => {
    const off = { enableFallback: false };
    expect(at(90n * U, off)).toBe(BudgetState.WARNING);
    expect(at(95n * U - 1n, off)).toBe(BudgetState.WARNING);
    expect(at(95n * U, off)).toBe(BudgetState.CRITICAL);
    expect(at(100n * U - 1n, off)).toBe(BudgetState.CRITICAL);
    expect(at(100n * U, off)).toBe(BudgetState.EXCEEDED);
  });

  it('uses each threshold as given (a fallback line under the warning line)', () => {
    expect(at(50n * U, { fallbackThreshold: 0.5 })).toBe(BudgetState.FALLBACK);
    expect(at(50n * U - 1n, { fallbackThreshold: 0.5 })).toBe(BudgetState.OK);
  });
});
