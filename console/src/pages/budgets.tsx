import { gql } from '../api';
import { ErrorBox, StateBadge, UsageBar } from '../components';
import { amount, lower, percent, scopeOf, when } from '../format';
import { ConsoleBudgetsDocument } from '../generated/graphql';
import { useLoad } from '../hooks';

/** How often the list refreshes while visible (one request for every budget). */
export const REFRESH_MS = 5_000;

export function BudgetsPage() {
  const { data, error, loading, reload } = useLoad(() => gql(ConsoleBudgetsDocument), [], REFRESH_MS);
  const budgets = data?.budgets ?? [];
  return (
    <>
      <div class="page-head">
        <h1>Budgets</h1>
        <button type="button" onClick={reload} disabled={loading} aria-label="Refresh budgets">
          Refresh
        </button>
      </div>
      <ErrorBox error={error} />
      {data && budgets.length === 0 ? (
        <p class="muted">No budgets visible to this key. An ADMIN key can create them on the Admin page.</p>
      ) : null}
      {budgets.length > 0 ? (
        <table class="budgets responsive" aria-label="Budgets" data-count={budgets.length}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scope</th>
              <th scope="col">Period</th>
              <th scope="col">Used of limit</th>
              <th scope="col">Usage</th>
              <th scope="col">State</th>
              <th scope="col">Forecast</th>
              <th scope="col">Runs out</th>
            </tr>
          </thead>
          <tbody>
            {budgets.map((b) => (
              <tr key={b.id} data-budget={b.name}>
                <th scope="row" data-label="Name">
                  <a href={`#/budgets/${b.id}`}>{b.name}</a>
                  {b.isActive ? null : <small class="muted"> (inactive)</small>}
                </th>
                <td data-label="Scope">{scopeOf(b)}</td>
                <td data-label="Period">{lower(b.limitPeriod)}</td>
                <td data-label="Used of limit" class="num">
                  {amount(b.limitType, b.status.used)} of {amount(b.limitType, b.limitValue)}
                </td>
                <td data-label="Usage" class="usage">
                  <UsageBar value={b.status.usagePercentage} state={b.status.state} label={`${b.name} usage`} />
                  <span class="pct">{percent(b.status.usagePercentage)}</span>
                </td>
                <td data-label="State">
                  <StateBadge state={b.status.state} />
                </td>
                <td data-label="Forecast" class="num">
                  {b.status.forecast === null ? (
                    <span class="muted" title="TOTAL budgets and fresh periods are not projected">
                      —
                    </span>
                  ) : (
                    amount(b.limitType, b.status.forecast)
                  )}
                </td>
                <td data-label="Runs out">
                  {b.status.projectedExhaustionAt ? when(b.status.projectedExhaustionAt) : <span class="muted">—</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
