import { useState } from 'preact/hooks';
import { gql, GqlError } from '../api';
import { ErrorBox, Section } from '../components';
import { amount, lower, scopeOf, when } from '../format';
import {
  ConsoleApiKeysDocument,
  ConsoleBudgetsDocument,
  ConsoleCreateApiKeyDocument,
  ConsoleCreateBudgetDocument,
  ConsoleDeleteBudgetDocument,
  ConsoleRevokeApiKeyDocument,
  ConsoleUpdateBudgetDocument,
  type ApiKeyRole,
  type BudgetType,
  type ConsoleBudgetFragment,
  type CreateBudgetInput,
  type LimitPeriod,
  type LimitType,
} from '../generated/graphql';
import { useLoad } from '../hooks';

const asError = (e: unknown) => (e instanceof GqlError ? e : new GqlError([{ message: String(e) }]));

/** The message the API gave for one input field (BAD_USER_INPUT carries `extensions.field`). */
function fieldError(error: GqlError | null, field: string): string | null {
  const e = error?.errors.find((x) => x.extensions?.field === field || x.extensions?.field === `input.${field}`);
  return e ? e.message : null;
}

function Field({ id, label, error, children }: { id: string; label: string; error: GqlError | null; children: preact.ComponentChildren }) {
  const msg = fieldError(error, id.replace(/^[a-z]+-/, ''));
  return (
    <div class={`field${msg ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      {msg ? (
        <p class="field-error" id={`${id}-error`} role="alert">
          {msg}
        </p>
      ) : null}
    </div>
  );
}

interface FormState {
  budgetName: string;
  budgetType: BudgetType;
  scope: string;
  limitType: LimitType;
  limitPeriod: LimitPeriod;
  limitValue: string;
  warningThreshold: string;
  criticalThreshold: string;
  fallbackThreshold: string;
  enableFallback: boolean;
  fallbackProvider: string;
  fallbackModel: string;
  hardLimitEnabled: boolean;
  isActive: boolean;
}

const EMPTY: FormState = {
  budgetName: '',
  budgetType: 'GLOBAL',
  scope: '',
  limitType: 'COST',
  limitPeriod: 'MONTHLY',
  limitValue: '',
  warningThreshold: '0.8',
  criticalThreshold: '0.95',
  fallbackThreshold: '0.9',
  enableFallback: false,
  fallbackProvider: '',
  fallbackModel: '',
  hardLimitEnabled: false,
  isActive: true,
};

const fromBudget = (b: ConsoleBudgetFragment): FormState => ({
  budgetName: b.name,
  budgetType: b.budgetType,
  scope: b.userId ?? b.projectId ?? b.scopeId ?? '',
  limitType: b.limitType,
  limitPeriod: b.limitPeriod,
  limitValue: String(b.limitValue),
  warningThreshold: String(b.warningThreshold),
  criticalThreshold: String(b.criticalThreshold),
  fallbackThreshold: String(b.fallbackThreshold),
  enableFallback: b.enableFallback,
  fallbackProvider: b.fallbackProvider ?? '',
  fallbackModel: b.fallbackModel ?? '',
  hardLimitEnabled: b.hardLimitEnabled,
  isActive: b.isActive,
});

/** A number field as the API should see it: empty → not sent; not a number → sent as typed, so the API says why. */
const num = (v: string) => (v.trim() === '' ? undefined : Number.isFinite(Number(v)) ? Number(v) : (v as unknown as number));
const text = (v: string) => (v.trim() === '' ? null : v.trim());
const SCOPE_FIELD: Record<BudgetType, 'userId' | 'projectId' | 'scopeId' | null> = {
  USER: 'userId',
  PROJECT: 'projectId',
  SERVICE: 'scopeId',
  GLOBAL: null,
};

function BudgetForm({ editing, onDone }: { editing: ConsoleBudgetFragment | null; onDone: () => void }) {
  const [f, setF] = useState<FormState>(editing ? fromBudget(editing) : EMPTY);
  const [error, setError] = useState<GqlError | null>(null);
  const [busy, setBusy] = useState(false);
  const set =
    <K extends keyof FormState>(k: K) =>
    (e: Event) => {
      const t = e.currentTarget as HTMLInputElement;
      setF((s) => ({ ...s, [k]: t.type === 'checkbox' ? t.checked : t.value }));
    };
  const common = {
    budgetName: f.budgetName,
    limitValue: num(f.limitValue) as number,
    warningThreshold: num(f.warningThreshold),
    criticalThreshold: num(f.criticalThreshold),
    fallbackThreshold: num(f.fallbackThreshold),
    enableFallback: f.enableFallback,
    fallbackProvider: text(f.fallbackProvider),
    fallbackModel: text(f.fallbackModel),
    hardLimitEnabled: f.hardLimitEnabled,
    isActive: f.isActive,
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (editing) {
        await gql(ConsoleUpdateBudgetDocument, { id: editing.id, input: common });
      } else {
        const scopeField = SCOPE_FIELD[f.budgetType];
        const input: CreateBudgetInput = {
          ...common,
          budgetType: f.budgetType,
          limitType: f.limitType,
          limitPeriod: f.limitPeriod,
          ...(scopeField ? { [scopeField]: text(f.scope) } : {}),
        };
        await gql(ConsoleCreateBudgetDocument, { input });
      }
      onDone();
    } catch (err) {
      setError(asError(err));
    } finally {
      setBusy(false);
    }
  };
  const p = editing ? 'edit' : 'new';
  const scopeField = SCOPE_FIELD[f.budgetType];
  return (
    <form onSubmit={submit} class="form" aria-label={editing ? `Edit budget ${editing.name}` : 'New budget'} noValidate>
      <Field id={`${p}-budgetName`} label="Name" error={error}>
        <input id={`${p}-budgetName`} value={f.budgetName} onInput={set('budgetName')} required />
      </Field>
      {editing ? null : (
        <>
          <Field id={`${p}-budgetType`} label="Scope type" error={error}>
            <select id={`${p}-budgetType`} value={f.budgetType} onChange={set('budgetType')}>
              {(['GLOBAL', 'USER', 'PROJECT', 'SERVICE'] as const).map((t) => (
                <option key={t} value={t}>
                  {lower(t)}
                </option>
              ))}
            </select>
          </Field>
          {scopeField ? (
            <Field
              id={`${p}-${scopeField}`}
              label={scopeField === 'userId' ? 'User id' : scopeField === 'projectId' ? 'Project id' : 'Service'}
              error={error}
            >
              <input id={`${p}-${scopeField}`} value={f.scope} onInput={set('scope')} />
            </Field>
          ) : null}
          <Field id={`${p}-limitType`} label="Limit on" error={error}>
            <select id={`${p}-limitType`} value={f.limitType} onChange={set('limitType')}>
              <option value="COST">cost (USD)</option>
              <option value="TOKENS">tokens</option>
            </select>
          </Field>
          <Field id={`${p}-limitPeriod`} label="Period" error={error}>
            <select id={`${p}-limitPeriod`} value={f.limitPeriod} onChange={set('limitPeriod')}>
              {(['HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'TOTAL'] as const).map((t) => (
                <option key={t} value={t}>
                  {lower(t)}
                </option>
              ))}
            </select>
          </Field>
        </>
      )}
      <Field id={`${p}-limitValue`} label={f.limitType === 'TOKENS' ? 'Limit (tokens)' : 'Limit (USD)'} error={error}>
        <input id={`${p}-limitValue`} inputMode="decimal" value={f.limitValue} onInput={set('limitValue')} />
      </Field>
      <Field id={`${p}-warningThreshold`} label="Warning at (share of limit)" error={error}>
        <input id={`${p}-warningThreshold`} inputMode="decimal" value={f.warningThreshold} onInput={set('warningThreshold')} />
      </Field>
      <Field id={`${p}-criticalThreshold`} label="Critical at (share of limit)" error={error}>
        <input id={`${p}-criticalThreshold`} inputMode="decimal" value={f.criticalThreshold} onInput={set('criticalThreshold')} />
      </Field>
      <div class="checks">
        <label>
          <input type="checkbox" checked={f.hardLimitEnabled} onChange={set('hardLimitEnabled')} /> Hard limit (refuse over it)
        </label>
        <label>
          <input type="checkbox" checked={f.isActive} onChange={set('isActive')} /> Active
        </label>
        <label>
          <input type="checkbox" checked={f.enableFallback} onChange={set('enableFallback')} /> Fall back to a cheaper model
        </label>
      </div>
      {f.enableFallback ? (
        <>
          <Field id={`${p}-fallbackThreshold`} label="Fall back at (share of limit)" error={error}>
            <input id={`${p}-fallbackThreshold`} inputMode="decimal" value={f.fallbackThreshold} onInput={set('fallbackThreshold')} />
          </Field>
          <Field id={`${p}-fallbackProvider`} label="Fallback provider" error={error}>
            <input id={`${p}-fallbackProvider`} value={f.fallbackProvider} onInput={set('fallbackProvider')} placeholder="deepseek" />
          </Field>
          <Field id={`${p}-fallbackModel`} label="Fallback model" error={error}>
            <input id={`${p}-fallbackModel`} value={f.fallbackModel} onInput={set('fallbackModel')} placeholder="deepseek-chat" />
          </Field>
        </>
      ) : null}
      <ErrorBox error={error} />
      <div class="buttons">
        <button type="submit" disabled={busy}>
          {editing ? 'Save budget' : 'Create budget'}
        </button>
        {editing ? (
          <button type="button" class="secondary" onClick={onDone}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}

function BudgetsAdmin() {
  const list = useLoad(() => gql(ConsoleBudgetsDocument), []);
  const [editing, setEditing] = useState<ConsoleBudgetFragment | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [error, setError] = useState<GqlError | null>(null);
  const [formKey, setFormKey] = useState(0);
  const remove = async (b: ConsoleBudgetFragment) => {
    setError(null);
    try {
      await gql(ConsoleDeleteBudgetDocument, { id: b.id });
      setConfirming(null);
      list.reload();
    } catch (e) {
      setError(asError(e));
    }
  };
  return (
    <>
      <Section title={editing ? `Edit ${editing.name}` : 'New budget'}>
        <BudgetForm
          key={editing?.id ?? `new-${formKey}`}
          editing={editing}
          onDone={() => {
            setEditing(null);
            setFormKey((k) => k + 1);
            list.reload();
          }}
        />
      </Section>
      <Section title="Budgets">
        <ErrorBox error={error ?? list.error} />
        <table class="responsive" aria-label="Budgets to edit">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scope</th>
              <th scope="col">Limit</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(list.data?.budgets ?? []).map((b) => (
              <tr key={b.id}>
                <th scope="row" data-label="Name">
                  {b.name}
                </th>
                <td data-label="Scope">{scopeOf(b)}</td>
                <td data-label="Limit">
                  {amount(b.limitType, b.limitValue)} {lower(b.limitPeriod)}
                </td>
                <td class="actions">
                  <button type="button" onClick={() => setEditing(b)} aria-label={`Edit ${b.name}`}>
                    Edit
                  </button>
                  {confirming === b.id ? (
                    <button type="button" class="danger" onClick={() => remove(b)} aria-label={`Confirm delete ${b.name}`}>
                      Confirm delete
                    </button>
                  ) : (
                    <button type="button" class="secondary" onClick={() => setConfirming(b.id)} aria-label={`Delete ${b.name}`}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </>
  );
}

function ApiKeysAdmin() {
  const keys = useLoad(() => gql(ConsoleApiKeysDocument), []);
  const [name, setName] = useState('');
  const [role, setRole] = useState<ApiKeyRole>('VIEWER');
  const [userId, setUserId] = useState('');
  const [projectId, setProjectId] = useState('');
  const [service, setService] = useState('');
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [error, setError] = useState<GqlError | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const { createApiKey } = await gql(ConsoleCreateApiKeyDocument, {
        name,
        role,
        userId: text(userId),
        projectId: text(projectId),
        service: text(service),
      });
      setSecret({ name: createApiKey.apiKey.name, secret: createApiKey.secret });
      setName('');
      keys.reload();
    } catch (err) {
      setError(asError(err));
    }
  };
  const revoke = async (id: string) => {
    setError(null);
    try {
      await gql(ConsoleRevokeApiKeyDocument, { id });
      setConfirming(null);
      keys.reload();
    } catch (err) {
      setError(asError(err));
    }
  };
  return (
    <Section title="API keys">
      {secret ? (
        <div class="secret" role="status">
          <p>
            The secret of <strong>{secret.name}</strong>, shown this once (only its hash is stored):
          </p>
          <code data-testid="new-secret">{secret.secret}</code>
          <button type="button" onClick={() => setSecret(null)}>
            I have copied it
          </button>
        </div>
      ) : null}
      <form class="form inline" onSubmit={create} aria-label="New API key">
        <div class="field">
          <label for="key-name">Key name</label>
          <input id="key-name" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
        </div>
        <div class="field">
          <label for="key-role">Role</label>
          <select id="key-role" value={role} onChange={(e) => setRole(e.currentTarget.value as ApiKeyRole)}>
            <option value="VIEWER">viewer</option>
            <option value="SERVICE">service</option>
            <option value="ADMIN">admin</option>
          </select>
        </div>
        <div class="field">
          <label for="key-user">Bound user id</label>
          <input id="key-user" value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="key-project">Bound project id</label>
          <input id="key-project" value={projectId} onInput={(e) => setProjectId(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="key-service">Bound service</label>
          <input id="key-service" value={service} onInput={(e) => setService(e.currentTarget.value)} />
        </div>
        <div class="buttons">
          <button type="submit">Create key</button>
        </div>
      </form>
      <ErrorBox error={error ?? keys.error} />
      <table class="responsive" aria-label="API keys">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Bound to</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Revoked</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(keys.data?.apiKeys ?? []).map((k) => (
            <tr key={k.id}>
              <th scope="row" data-label="Name">
                {k.name}
              </th>
              <td data-label="Role">{k.role}</td>
              <td data-label="Bound to">
                {[k.userId && `user ${k.userId}`, k.projectId && `project ${k.projectId}`, k.service && `service ${k.service}`]
                  .filter(Boolean)
                  .join(', ') || '—'}
              </td>
              <td data-label="Created">{when(k.createdAt)}</td>
              <td data-label="Last used">{when(k.lastUsedAt)}</td>
              <td data-label="Revoked">{when(k.revokedAt)}</td>
              <td class="actions">
                {k.revokedAt ? null : confirming === k.id ? (
                  <button type="button" class="danger" onClick={() => revoke(k.id)} aria-label={`Confirm revoke ${k.name}`}>
                    Confirm revoke
                  </button>
                ) : (
                  <button type="button" class="secondary" onClick={() => setConfirming(k.id)} aria-label={`Revoke ${k.name}`}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

export function AdminPage() {
  return (
    <>
      <div class="page-head">
        <h1>Admin</h1>
      </div>
      <BudgetsAdmin />
      <ApiKeysAdmin />
    </>
  );
}
