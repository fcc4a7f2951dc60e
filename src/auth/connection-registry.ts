/** What the registry needs of a socket: the `ws` WebSocket fits. */
export interface ClosableSocket {
  close(code?: number, reason?: string): void;
}

/** WebSocket close code for a key that is revoked or may not subscribe. */
export const CLOSE_FORBIDDEN = 4403;
/** WebSocket close code for a missing or unknown key. */
export const CLOSE_UNAUTHORIZED = 4401;
/** WebSocket close code for too many connections of one key, or too many failed authentications from one address (graphql-ws clients do not retry it). */
export const CLOSE_TOO_MANY = 4429;

/**
 * Open WebSocket connections by API key id, so a revoked key's subscriptions
 * can be closed: at once for a revocation on this instance (`closeKey`), and by
 * a periodic `sweep` for revocations made on other instances.
 */
export class ConnectionRegistry {
  private readonly byKey = new Map<string, Set<ClosableSocket>>();

  add(keyId: string, socket: ClosableSocket): void {
    let set = this.byKey.get(keyId);
    if (!set) this.byKey.set(keyId, (set = new Set()));
    set.add(socket);
  }

  remove(keyId: string, socket: ClosableSocket): void {
    const set = this.byKey.get(keyId);
    if (!set) return;
    set.delete(socket);
    if (set.size === 0) this.byKey.delete(keyId);
  }

  /** Open connections of `keyId`. */
  count(keyId: string): number {
    return this.byKey.get(keyId)?.size ?? 0;
  }

  /** Key ids with at least one open connection. */
  keyIds(): string[] {
    return [...this.byKey.keys()];
  }

  /** Number of open connections (all keys). */
  get size(): number {
    let n = 0;
    for (const set of this.byKey.values()) n += set.size;
    return n;
  }

  /** Closes every connection of `keyId` with 4403; returns how many were closed. */
  closeKey(keyId: string, reason = 'API key revoked'): number {
    const set = this.byKey.get(keyId);
    if (!set) return 0;
    this.byKey.delete(keyId);
    for (const s of set) s.close(CLOSE_FORBIDDEN, reason);
    return set.size;
  }

  /** Closes the connections of every tracked key that `revoked` reports as no longer valid. */
  async sweep(revoked: (keyIds: string[]) => Promise<string[]>): Promise<number> {
    const ids = this.keyIds();
    if (ids.length === 0) return 0;
    let closed = 0;
    for (const id of await revoked(ids)) closed += this.closeKey(id);
    return closed;
  }
}
