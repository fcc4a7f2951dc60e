import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ApiKeyRole } from '../common/enums';
import { AppError, badInput } from '../common/errors';
import { MAX_ID_LENGTH, validId } from '../common/text';
import { ApiKey } from './api-key.entity';
import type { AuthInfo } from './auth.types';

const KEY_RE = /^bgw_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** The longest key name or binding accepted. */
export const MAX_KEY_FIELD = MAX_ID_LENGTH;

/** Timing of ApiKeyService; `config.auth` supplies both in the server. */
export interface ApiKeyServiceOptions {
  /** How long a verified key is trusted from memory; a revocation on another instance takes effect within this. @default 5_000 */
  cacheTtlMs?: number;
  /** lastUsedAt is written in batches at most this often, not on every request. @default 10_000 */
  lastUsedFlushMs?: number;
  /** Unknown key prefixes remembered for `cacheTtlMs` (a flood of one made-up key is one query); oldest dropped first. @default 10_000 */
  negativeCacheSize?: number;
  /** Where a failed lastUsedAt flush is reported. @default ignored */
  onFlushError?: (e: unknown) => void;
}

/** What ApiKeyService needs: the database, ADMIN_API_KEY and its timing. */
export interface ApiKeyServiceDeps extends ApiKeyServiceOptions {
  orm: MikroORM;
  /** ADMIN_API_KEY: an ADMIN key known from the environment, never stored. */
  envAdminKey: string | undefined;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** A fresh key: `bgw_<16 hex lookup prefix>_<32 random bytes, base64url>`, and the SHA-256 to store. */
export function generateSecret(): { secret: string; prefix: string; hash: string } {
  const prefix = randomBytes(8).toString('hex');
  const secret = `bgw_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { secret, prefix, hash: sha256(secret).toString('hex') };
}

/** The key in an `Authorization: Bearer <key>` header, or null. */
export function parseBearer(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : null;
}

export interface CreateKeyInput {
  name: string;
  role: ApiKeyRole;
  userId?: string | null;
  projectId?: string | null;
  service?: string | null;
}

/** The key id reported for ADMIN_API_KEY (it has no row). */
export const ENV_ADMIN_KEY_ID = 'env-admin';

/**
 * Issues, verifies and revokes API keys. Secrets are shown once and kept only
 * as SHA-256 (the secrets are 32 random bytes, so a slow hash adds nothing),
 * compared in constant time. Verified keys are cached for `cacheTtlMs`; a
 * revocation on this instance drops the cache entry at once and notifies
 * `onRevoke` listeners (which close the key's WebSocket connections).
 */
export class ApiKeyService {
  private readonly cache = new Map<string, { info: AuthInfo; hash: Buffer; until: number }>();
  private readonly unknown = new Map<string, number>();
  private readonly lastUsed = new Map<string, Date>();
  private readonly revokeListeners: ((keyId: string) => void)[] = [];
  /** Bumped by every revocation: a lookup that started before one must not cache what it read. */
  private generation = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly envAdminHash: Buffer | null;
  readonly cacheTtlMs: number;
  private readonly lastUsedFlushMs: number;

  constructor(private readonly deps: ApiKeyServiceDeps) {
    this.envAdminHash = deps.envAdminKey ? sha256(deps.envAdminKey) : null;
    this.cacheTtlMs = deps.cacheTtlMs ?? 5_000;
    this.lastUsedFlushMs = deps.lastUsedFlushMs ?? 10_000;
  }

  /** Starts the batched lastUsedAt writer. */
  start(): void {
    this.flushTimer ??= setInterval(
      () => void this.flushLastUsed().catch((e: unknown) => this.deps.onFlushError?.(e)),
      this.lastUsedFlushMs,
    );
    this.flushTimer.unref();
  }

  /** Stops the writer and flushes what is pending. */
  async stop(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    await this.flushLastUsed().catch((e: unknown) => this.deps.onFlushError?.(e));
  }

  /** Calls `listener(keyId)` after every revocation made through this instance. */
  onRevoke(listener: (keyId: string) => void): void {
    this.revokeListeners.push(listener);
  }

  /**
   * What memory alone says of a key: the caller (ADMIN_API_KEY, or a cached
   * key with a matching secret), null when it is surely not valid (missing,
   * malformed, a wrong secret, a prefix known to be unknown), undefined when
   * only the database can tell.
   */
  verifyCached(key: string | null): AuthInfo | null | undefined {
    if (!key) return null;
    const hash = sha256(key);
    if (this.envAdminHash && timingSafeEqual(hash, this.envAdminHash)) {
      return { keyId: ENV_ADMIN_KEY_ID, name: 'ADMIN_API_KEY', role: ApiKeyRole.ADMIN, userId: null, projectId: null, service: null };
    }
    const m = KEY_RE.exec(key);
    if (!m) return null;
    const now = Date.now();
    const hit = this.cache.get(m[1]);
    if (hit && hit.until >= now) return this.check(hit, hash, now);
    if ((this.unknown.get(m[1]) ?? 0) > now) return null;
    return undefined;
  }

  /** The caller behind a bearer key, or null when the key is missing, malformed, unknown or revoked. */
  async verify(key: string | null): Promise<AuthInfo | null> {
    const known = this.verifyCached(key);
    if (known !== undefined) return known;
    const prefix = KEY_RE.exec(key!)![1];
    const now = Date.now();
    const generation = this.generation;
    const row = await this.deps.orm.em.fork().findOne(ApiKey, { prefix, revokedAt: null });
    if (!row) {
      this.cache.delete(prefix);
      this.rememberUnknown(prefix, now);
      return null;
    }
    const hit = { info: toAuthInfo(row), hash: Buffer.from(row.secretHash, 'hex'), until: now + this.cacheTtlMs };
    if (generation === this.generation) this.cache.set(prefix, hit);
    return this.check(hit, sha256(key!), now);
  }

  private check(hit: { info: AuthInfo; hash: Buffer }, hash: Buffer, now: number): AuthInfo | null {
    if (!timingSafeEqual(hash, hit.hash)) return null;
    this.lastUsed.set(hit.info.keyId, new Date(now));
    return hit.info;
  }

  /** Live SERVICE keys bound to no service (issued before a SERVICE key had to be bound): they are refused, see Admission. */
  async unboundServiceKeys(): Promise<{ id: string; name: string }[]> {
    const rows = await this.deps.orm.em
      .fork()
      .find(ApiKey, { role: ApiKeyRole.SERVICE, service: null, revokedAt: null }, { fields: ['id', 'name'] });
    return rows.map((r) => ({ id: r.id, name: r.name }));
  }

  async create(em: EntityManager, input: CreateKeyInput): Promise<{ apiKey: ApiKey; secret: string }> {
    const name = input.name.trim();
    validId('name', name);
    for (const f of ['userId', 'projectId', 'service'] as const) validId(f, input[f]);
    // A binding the role's row scope ignores would look like a restriction and be none (see rowScope).
    if (input.role === ApiKeyRole.VIEWER) {
      if (!input.userId && !input.projectId) throw badInput('role', 'a VIEWER key must be bound to a userId and/or a projectId');
      if (input.service) throw badInput('service', 'a VIEWER key is bound by userId and/or projectId, not by service');
    }
    if (input.role === ApiKeyRole.SERVICE && (input.userId || input.projectId)) {
      throw badInput(input.userId ? 'userId' : 'projectId', 'a SERVICE key may be bound to a service only');
    }
    // Unbound, it would read nothing yet look like a working key (see rowScope); and its spend would be nobody's.
    if (input.role === ApiKeyRole.SERVICE && !input.service) throw badInput('service', 'a SERVICE key must be bound to a service');
    if (input.role === ApiKeyRole.ADMIN && (input.userId || input.projectId || input.service)) {
      throw badInput('role', 'an ADMIN key is not bound to a user, project or service');
    }
    const { secret, prefix, hash } = generateSecret();
    const apiKey = em.create(ApiKey, {
      name,
      role: input.role,
      userId: input.userId ?? null,
      projectId: input.projectId ?? null,
      service: input.service ?? null,
      prefix,
      secretHash: hash,
      createdAt: new Date(),
    });
    await em.flush();
    this.unknown.delete(prefix);
    return { apiKey, secret };
  }

  async revoke(em: EntityManager, id: string): Promise<ApiKey> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await em.findOne(ApiKey, { id }) : null;
    if (!row) throw new AppError('NOT_FOUND', `API key ${id} not found`);
    row.revokedAt ??= new Date();
    await em.flush();
    this.generation += 1;
    this.cache.delete(row.prefix);
    for (const l of this.revokeListeners) l(row.id);
    return row;
  }

  /** Of `keyIds`, those no longer valid (revoked or deleted): used to close other instances' revocations' sockets. */
  async invalidAmong(keyIds: readonly string[]): Promise<string[]> {
    const ids = keyIds.filter((id) => id !== ENV_ADMIN_KEY_ID);
    if (ids.length === 0) return [];
    const live = await this.deps.orm.em
      .fork()
      .getConnection()
      .execute<{ id: string }[]>(
        `select k.id from api_key k where k.id in (select v::uuid from jsonb_array_elements_text(?::jsonb) v) and k.revoked_at is null`,
        [JSON.stringify(ids)],
      );
    const alive = new Set(live.map((r) => r.id));
    return ids.filter((id) => !alive.has(id));
  }

  /** Every key, oldest first (secrets are never stored, so none is returned). */
  async list(em: EntityManager): Promise<ApiKey[]> {
    return em.find(ApiKey, {}, { orderBy: { createdAt: 'asc' } });
  }

  /**
   * With no ADMIN_API_KEY and no live ADMIN key stored, creates one and returns
   * its secret (to be printed once); otherwise null.
   */
  async bootstrapAdmin(): Promise<string | null> {
    if (this.envAdminHash) return null;
    const em = this.deps.orm.em.fork();
    const existing = await em.count(ApiKey, { role: ApiKeyRole.ADMIN, revokedAt: null });
    if (existing > 0) return null;
    const { secret } = await this.create(em, { name: 'bootstrap admin', role: ApiKeyRole.ADMIN });
    return secret;
  }

  private rememberUnknown(prefix: string, now: number): void {
    if (this.unknown.size >= (this.deps.negativeCacheSize ?? 10_000)) this.unknown.delete(this.unknown.keys().next().value!);
    this.unknown.set(prefix, now + this.cacheTtlMs);
  }

  private async flushLastUsed(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const entries = [...this.lastUsed].filter(([id]) => id !== ENV_ADMIN_KEY_ID);
    this.lastUsed.clear();
    if (entries.length === 0) return;
    await this.deps.orm.em.fork().execute(
      `update api_key k set last_used_at = greatest(k.last_used_at, v.at)
         from json_to_recordset(?::json) as v(id uuid, at timestamptz) where k.id = v.id`,
      [JSON.stringify(entries.map(([id, at]) => ({ id, at: at.toISOString() })))],
    );
  }
}

/** The caller as resolvers see it. */
export function toAuthInfo(k: ApiKey): AuthInfo {
  return { keyId: k.id, name: k.name, role: k.role, userId: k.userId ?? null, projectId: k.projectId ?? null, service: k.service ?? null };
}
