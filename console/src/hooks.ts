import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { GqlError } from './api';

export interface Loaded<T> {
  data: T | null;
  error: GqlError | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` when `deps` change and every `refreshMs` while the tab is visible;
 * keeps showing the last data while a refresh is in flight. A refresh never starts
 * while a load is in flight: otherwise an answer slower than `refreshMs` would be
 * superseded before it arrived, and the page would never show anything.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], refreshMs = 0): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: GqlError | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const seq = useRef(0);
  const inFlight = useRef(false);
  const run = useCallback(() => {
    const mine = ++seq.current;
    inFlight.current = true;
    setState((s) => ({ ...s, loading: true }));
    load()
      .then(
        (data) => mine === seq.current && setState({ data, error: null, loading: false }),
        (e: unknown) =>
          mine === seq.current &&
          setState((s) => ({ data: s.data, error: e instanceof GqlError ? e : new GqlError([{ message: String(e) }]), loading: false })),
      )
      .finally(() => {
        if (mine === seq.current) inFlight.current = false;
      });
  }, deps);
  useEffect(() => {
    run();
    if (!refreshMs) return;
    const t = setInterval(() => document.visibilityState === 'visible' && !inFlight.current && run(), refreshMs);
    return () => clearInterval(t);
  }, [run, refreshMs]);
  return { ...state, reload: run };
}

/** The current hash route ("#/budgets/ID" → ["budgets", "ID"]). */
export function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
