import { useEffect, useState } from 'preact/hooks';
import { gql, GqlError, onLiveStatus, subscribe } from '../api';
import { ErrorBox } from '../components';
import { when } from '../format';
import {
  AcknowledgeAlertDocument,
  ConsoleAlertsDocument,
  LiveAlertsDocument,
  ResolveAlertDocument,
  type AlertSeverity,
  type AlertStatus,
  type ConsoleAlertFragment,
} from '../generated/graphql';
import type { Me } from '../main';

const STATUSES: AlertStatus[] = ['ACTIVE', 'ACKNOWLEDGED', 'RESOLVED'];
const SEVERITIES: AlertSeverity[] = ['INFO', 'WARNING', 'CRITICAL'];

/** Alerts as a table; Acknowledge / Resolve for the roles the API lets use them (ADMIN). */
export function AlertTable({
  alerts,
  me,
  onChange,
  showBudget = true,
  fresh,
}: {
  alerts: ConsoleAlertFragment[];
  me: Me;
  onChange: (a: ConsoleAlertFragment) => void;
  showBudget?: boolean;
  fresh?: Set<string>;
}) {
  const [error, setError] = useState<GqlError | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const act = async (a: ConsoleAlertFragment, action: 'ack' | 'resolve') => {
    setBusy(a.id);
    setError(null);
    try {
      const r =
        action === 'ack'
          ? (await gql(AcknowledgeAlertDocument, { id: a.id })).acknowledgeAlert
          : (await gql(ResolveAlertDocument, { id: a.id })).resolveAlert;
      onChange(r);
    } catch (e) {
      setError(e instanceof GqlError ? e : new GqlError([{ message: String(e) }]));
    } finally {
      setBusy(null);
    }
  };
  const canAct = me.role === 'ADMIN';
  if (alerts.length === 0) return <p class="muted">No alerts.</p>;
  return (
    <>
      <ErrorBox error={error} />
      <table class="alerts responsive" aria-label="Alerts">
        <thead>
          <tr>
            <th scope="col">Raised</th>
            <th scope="col">Type</th>
            <th scope="col">Severity</th>
            <th scope="col">Status</th>
            {showBudget ? <th scope="col">Budget</th> : null}
            <th scope="col">Message</th>
            {canAct ? (
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {alerts.map((a) => (
            <tr key={a.id} data-alert={a.id} data-status={a.status} class={fresh?.has(a.id) ? 'fresh' : undefined}>
              <td data-label="Raised">{when(a.createdAt)}</td>
              <td data-label="Type">{a.alertType}</td>
              <td data-label="Severity">
                <span class={`badge sev-${a.severity.toLowerCase()}`}>{a.severity}</span>
              </td>
              <td data-label="Status">{a.status}</td>
              {showBudget ? (
                <td data-label="Budget">
                  {a.budget ? <a href={`#/budgets/${a.budget.id}`}>{a.budget.name}</a> : <span class="muted">—</span>}
                </td>
              ) : null}
              <td data-label="Message" class="message">
                {a.message}
              </td>
              {canAct ? (
                <td class="actions">
                  {a.status === 'ACTIVE' ? (
                    <button
                      type="button"
                      disabled={busy === a.id}
                      onClick={() => act(a, 'ack')}
                      aria-label={`Acknowledge alert: ${a.message}`}
                    >
                      Acknowledge
                    </button>
                  ) : null}
                  {a.status !== 'RESOLVED' ? (
                    <button
                      type="button"
                      disabled={busy === a.id}
                      onClick={() => act(a, 'resolve')}
                      aria-label={`Resolve alert: ${a.message}`}
                    >
                      Resolve
                    </button>
                  ) : null}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Matches the list's filters, as the API's `alerts(status, severity)` would. */
const matches = (a: ConsoleAlertFragment, status: AlertStatus | '', severity: AlertSeverity | '') =>
  (!status || a.status === status) && (!severity || a.severity === severity);

export function AlertsPage({ me }: { me: Me }) {
  const [status, setStatus] = useState<AlertStatus | ''>('');
  const [severity, setSeverity] = useState<AlertSeverity | ''>('');
  const [alerts, setAlerts] = useState<ConsoleAlertFragment[] | null>(null);
  const [error, setError] = useState<GqlError | null>(null);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [live, setLive] = useState(false);
  useEffect(() => onLiveStatus(setLive), []);

  useEffect(() => {
    let stale = false;
    setAlerts(null);
    gql(ConsoleAlertsDocument, { status: status || null, severity: severity || null }).then(
      (r) => !stale && setAlerts(r.alerts),
      (e: unknown) => !stale && setError(e instanceof GqlError ? e : new GqlError([{ message: String(e) }])),
    );
    // New alerts arrive over graphql-ws and go on top; the list itself is not reloaded.
    const stop = subscribe(LiveAlertsDocument, {}, ({ alertRaised: a }) => {
      if (!matches(a, status, severity)) return;
      setAlerts((list) => (list && !list.some((x) => x.id === a.id) ? [a, ...list] : list));
      setFresh((f) => new Set(f).add(a.id));
    });
    return () => {
      stale = true;
      stop();
    };
  }, [status, severity]);

  const replace = (a: ConsoleAlertFragment) =>
    setAlerts((list) => (list ?? []).map((x) => (x.id === a.id ? a : x)).filter((x) => matches(x, status, severity)));
  return (
    <>
      <div class="page-head">
        <h1>Alerts</h1>
        <span class={`live${live ? '' : ' live-error'}`} role="status" data-live={String(live)}>
          {live ? 'live' : 'connecting for live alerts…'}
        </span>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value as AlertStatus | '')}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <label>
          Severity
          <select value={severity} onChange={(e) => setSeverity(e.currentTarget.value as AlertSeverity | '')}>
            <option value="">any</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorBox error={error} />
      {alerts === null ? <p class="muted">Loading…</p> : <AlertTable alerts={alerts} me={me} onChange={replace} fresh={fresh} />}
    </>
  );
}
