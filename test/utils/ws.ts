import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

export interface WsConnection {
  client: Client;
  /** Resolves with the close code once the server (or we) close the socket. */
  closed: Promise<number>;
  /** Resolves once connection_ack arrived. */
  connected: Promise<void>;
}

const graphqlWsUrl = (httpUrl: string) => `${httpUrl.replace(/^http/, 'ws')}/graphql`;

/** A graphql-ws client on `${httpUrl}/graphql` with `key`, connecting at once (with graphql-ws's default retries). */
export function wsClient(httpUrl: string, key: string): Client {
  return createClient({
    url: graphqlWsUrl(httpUrl),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
    lazy: false,
  });
}

/** A graphql-ws client on `${httpUrl}/graphql` that connects at once and never retries (so a refusal is seen as is); `headers` go on the upgrade request. */
export function connectWs(httpUrl: string, key: string | null, headers?: Record<string, string>): WsConnection {
  let onClosed!: (code: number) => void;
  let onConnected!: () => void;
  const closed = new Promise<number>((r) => (onClosed = r));
  const connected = new Promise<void>((r) => (onConnected = r));
  const client = createClient({
    url: graphqlWsUrl(httpUrl),
    webSocketImpl: headers
      ? class extends WebSocket {
          constructor(url: string, protocols?: string | string[]) {
            super(url, protocols, { headers });
          }
        }
      : WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    on: {
      connected: () => onConnected(),
      closed: (e) => onClosed((e as { code: number }).code),
    },
    onNonLazyError: () => undefined,
  });
  return { client, closed, connected };
}

/** Runs one operation over the connection and returns its first result (or the error list it failed with). */
export function wsRequest(client: Client, query: string, variables?: Record<string, unknown>): Promise<ExecutionResult> {
  return new Promise((resolve, reject) => {
    let first: ExecutionResult | null = null;
    const dispose = client.subscribe(
      { query, variables },
      {
        next: (v) => {
          first ??= v as ExecutionResult;
          resolve(first);
          dispose();
        },
        error: (e) => {
          if (Array.isArray(e)) resolve({ errors: e } as ExecutionResult);
          else reject(e instanceof Error ? e : new Error(JSON.stringify(e)));
        },
        complete: () => (first ? undefined : reject(new Error('completed without a result'))),
      },
    );
  });
}
