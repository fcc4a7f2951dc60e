import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { gql, GqlError, session } from './api';
import { ErrorBox } from './components';
import { MeDocument, type MeQuery } from './generated/graphql';
import { useRoute } from './hooks';
import { AdminPage } from './pages/admin';
import { AlertsPage } from './pages/alerts';
import { BudgetPage } from './pages/budget';
import { BudgetsPage } from './pages/budgets';
import { SpendPage } from './pages/spend';
import './styles.css';

export type Me = MeQuery['me'];

function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<GqlError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { me } = await gql(MeDocument, {}, key.trim());
      session.set(key.trim());
      onSignedIn(me);
    } catch (err) {
      setError(err instanceof GqlError ? err : new GqlError([{ message: String(err) }]));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>Budget Gateway</h1>
      <form onSubmit={submit} class="card">
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
        />
        <p class="muted">Kept in this tab only (sessionStorage). `npm start` prints an ADMIN key on the first start.</p>
        <button type="submit" disabled={busy || key.trim() === ''}>
          Sign in
        </button>
        <ErrorBox error={error} />
      </form>
    </main>
  );
}

const PAGES = [
  { route: 'budgets', label: 'Budgets' },
  { route: 'spend', label: 'Spend' },
  { route: 'alerts', label: 'Alerts' },
  { route: 'admin', label: 'Admin', admin: true },
];

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(Boolean(session.get()));
  const route = useRoute();
  useEffect(() => {
    if (!session.get()) return;
    gql(MeDocument)
      .then(
        (r) => setMe(r.me),
        () => session.clear(),
      )
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p class="muted center">Loading…</p>;
  if (!me)
    return (
      <SignIn
        onSignedIn={(m) => {
          setMe(m);
          if (!location.hash) location.hash = '#/budgets';
        }}
      />
    );
  const page = route[0] ?? 'budgets';
  const signOut = () => {
    session.clear();
    setMe(null);
  };
  const isAdmin = me.role === 'ADMIN';
  return (
    <>
      <header class="top">
        <a class="brand" href="#/budgets">
          Budget Gateway
        </a>
        <nav aria-label="Pages">
          {PAGES.filter((p) => !p.admin || isAdmin).map((p) => (
            <a key={p.route} href={`#/${p.route}`} aria-current={page === p.route ? 'page' : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        <span class="who" title={`key ${me.keyId}`}>
          {me.name} · {me.role}
          {me.userId ? ` · user ${me.userId}` : ''}
          {me.projectId ? ` · project ${me.projectId}` : ''}
          {me.service ? ` · service ${me.service}` : ''}
        </span>
        <button class="link" type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {page === 'budgets' && route[1] ? <BudgetPage id={route[1]} me={me} /> : null}
        {page === 'budgets' && !route[1] ? <BudgetsPage /> : null}
        {page === 'spend' ? <SpendPage /> : null}
        {page === 'alerts' ? <AlertsPage me={me} /> : null}
        {page === 'admin' ? isAdmin ? <AdminPage /> : <p role="alert">The Admin page needs an ADMIN key.</p> : null}
        {!PAGES.some((p) => p.route === page) ? (
          <p role="alert">
            No such page. <a href="#/budgets">Budgets</a>
          </p>
        ) : null}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
