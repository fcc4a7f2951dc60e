import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from './generated/graphql';

/** One GraphQL error as the API returns it; `field` names the input field for BAD_USER_INPUT. */
export interface ApiError {
  message: string;
  extensions?: { code?: string; field?: string; [k: string]: unknown };
}

export class GqlError extends Error {
  constructor(readonly errors: ApiError[]) {
    super(errors.map((e) => e.message).join('; '));
  }
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

const STORAGE_KEY = 'budget-gateway.apiKey';

/** The API key lives in sessionStorage only (gone with the tab), never in a URL. */
export const session = {
  get: (): string | null => sessionStorage.getItem(STORAGE_KEY),
  set: (key: string) => sessionStorage.setItem(STORAGE_KEY, key),
  clear: () => {
    sessionStorage.removeItem(STORAGE_KEY);
    closeLive();
  },
};

/** POST /graphql on this origin: JSON (which Apollo's CSRF prevention requires), the key as a bearer token. */
export async function gql<R, V>(doc: TypedDocumentString<R, V>, variables?: V, key = session.get()): Promise<R> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query: doc.toString(), variables: variables ?? {} }),
  });
  let body: { data?: R | null; errors?: ApiError[] };
  try {
    body = await res.json();
  } catch {
    throw new GqlError([{ message: `The server answered ${res.status} without JSON` }]);
  }
  if (body.errors?.length) throw new GqlError(body.errors);
  if (!body.data) throw new GqlError([{ message: `The server answered ${res.status} without data` }]);
  return body.data;
}

let live: Client | null = null;
let connected = false;
const statusListeners = new Set<(connected: boolean) => void>();
const setConnected = (c: boolean) => {
  connected = c;
  for (const l of statusListeners) l(c);
};

/** Follows the live connection: called now and whenever it connects or drops. Returns the unsubscribe function. */
export function onLiveStatus(cb: (connected: boolean) => void): () => void {
  statusListeners.add(cb);
  cb(connected);
  return () => statusListeners.delete(cb);
}

/** One graphql-ws connection per signed-in tab (ws/wss on this origin), authenticated at connection_init; retried forever. */
function liveClient(): Client {
  if (!live) {
    const key = session.get();
    live = createClient({
      url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
      connectionParams: { authorization: `Bearer ${key}` },
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => true,
      on: { connected: () => setConnected(true), closed: () => setConnected(false) },
    });
  }
  return live;
}

function closeLive(): void {
  void live?.dispose();
  live = null;
  setConnected(false);
}

/** Subscribes; returns the unsubscribe function. */
export function subscribe<R, V>(
  doc: TypedDocumentString<R, V>,
  variables: V,
  onData: (r: R) => void,
  onError?: (e: unknown) => void,
): () => void {
  return liveClient().subscribe<R>(
    { query: doc.toString(), variables: variables as Record<string, unknown> },
    {
      next: (msg) => msg.data && onData(msg.data as R),
      error: (e) => onError?.(e),
      complete: () => undefined,
    },
  );
}
