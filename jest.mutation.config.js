/**
 * The fast unit tests of the rule modules, for `npm run test:mutation` (stryker.config.json):
 * no database, no server; each mutant runs only the tests that cover it.
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  testMatch: [
    '<rootDir>/src/budgets/__tests__/budget-policy.spec.ts',
    '<rootDir>/src/budgets/__tests__/budget-state.spec.ts',
    '<rootDir>/src/budgets/__tests__/period.spec.ts',
    '<rootDir>/src/common/__tests__/money.spec.ts',
    '<rootDir>/src/pricing/__tests__/cost.spec.ts',
    '<rootDir>/src/pricing/__tests__/estimate.spec.ts',
    '<rootDir>/src/alerts/__tests__/alert.rules.spec.ts',
    '<rootDir>/src/alerts/__tests__/alert.rules.keys.spec.ts',
  ],
  maxWorkers: 1,
};
