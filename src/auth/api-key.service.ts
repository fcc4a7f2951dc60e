import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ApiKeyRole } from '../common/enums';
import { AppError, badInput } from '../common/errors';
import { ApiKey } from './api-key.entity';
import type { AuthInfo } from './auth.types';

const KEY_RE = /^bgw_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** How long a verified key is trusted from memory; a revocation elsewhere takes effect within this. @default 5_000 */
const CACHE_TTL_MS = 5_000;
/** lastUsedAt is written in batches at most this often, not on every request. @default 10_000 */
const LAST_USED_FLUSH_MS = 10_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export function generateSecret(): { secret: string; prefix: string; hash: string } {
  const prefix = randomBytes(8).toString('hex');
  const secret = `bgw_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { secret, prefix, hash: sha256(secret).toString('hex') };
}

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

/** Issues, verifies and revokes API keys. Secrets are shown once and kept only as SHA-256. */
export class ApiKeyService {
  private readonly cache = new Map<string, { info: AuthInfo; hash: Buffer; until: number }>();
  private readonly lastUsed = new Map<string, Date>();
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly envAdminHash: Buffer | null;

  constructor(private readonly orm: MikroORM, envAdminKey: string | undefined) {
    this.envAdminHash = envAdminKey ? sha256(envAdminKey) : null;
  }

  /** Starts the batched lastUsedAt writer. */
  start(): void {
    this.flushTimer ??= setInterval(() => void this.flushLastUsed().catch(() => undefined), LAST_USED_FLUSH_MS);
    this.flushTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    await this.flushLastUsed().catch(() => undefined);
  }

  /** The caller behind a bearer key, or null when the key is missing, malformed, unknown or revoked. */
  async verify(key: string | null): Promise<AuthInfo | null> {
    if (!key) return null;
    const hash = sha256(key);
    if (this.envAdminHash && timingSafeEqual(hash, this.envAdminHash)) {
      return { keyId: 'env-admin', name: 'ADMIN_API_KEY', role: ApiKeyRole.ADMIN, userId: null, projectId: null, service: null };
    }
    const m = KEY_RE.exec(key);
    if (!m) return null;
    const prefix = m[1];
    const now = Date.now();
    let hit = this.cache.get(prefix);
    if (!hit || hit.until < now) {
      const row = await this.orm.em.fork().findOne(ApiKey, { prefix, revokedAt: null });
      if (!row) {
        this.cache.delete(prefix);
        return null;
      }
      hit = { info: toAuthInfo(row), hash: Buffer.from(row.secretHash, 'hex'), until: now + CACHE_TTL_MS };
      this.cache.set(prefix, hit);
    }
    if (!timingSafeEqual(hash, hit.hash)) return null;
    this.lastUsed.set(hit.info.keyId, new Date(now));
    return hit.info;
  }

  async create(em: EntityManager, input: CreateKeyInput): Promise<{ apiKey: ApiKey; secret: string }> {
    const name = input.name.trim();
    if (name === '' || name.length > 200) throw badInput('name', 'must be 1 to 200 characters');
    for (const f of ['userId', 'projectId', 'service'] as const) {
      const v = input[f];
      if (v != null && (v.trim() === '' || v.length > 200)) throw badInput(f, 'must be 1 to 200 characters');
    }
    if (input.role === ApiKeyRole.VIEWER && !input.userId && !input.projectId) {
      throw badInput('role', 'a VIEWER key must be bound to a userId and/or a projectId');
    }
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
    return { apiKey, secret };
  }

  async revoke(em: EntityManager, id: string): Promise<ApiKey> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await em.findOne(ApiKey, { id }) : null;
    if (!row) throw new AppError('NOT_FOUND', `API key ${id} not found`);
    row.revokedAt ??= new Date();
    await em.flush();
    this.cache.delete(row.prefix);
    return row;
  }

  async list(em: EntityManager): Promise<ApiKey[]> {
    return em.find(ApiKey, {}, { orderBy: { createdAt: 'asc' } });
  }

  /**
   * With no ADMIN_API_KEY and no live ADMIN key stored, creates one and returns
   * its secret (to be printed once); otherwise null.
   */
  async bootstrapAdmin(): Promise<string | null> {
    if (this.envAdminHash) return null;
    const em = this.orm.em.fork();
    const existing = await em.count(ApiKey, { role: ApiKeyRole.ADMIN, revokedAt: null });
    if (existing > 0) return null;
    const { secret } = await this.create(em, { name: 'bootstrap admin', role: ApiKeyRole.ADMIN });
    return secret;
  }

  private async flushLastUsed(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const entries = [...this.lastUsed].filter(([id]) => id !== 'env-admin');
    this.lastUsed.clear();
    if (entries.length === 0) return;
    await this.orm.em.fork().execute(
      `update api_key k set last_used_at = greatest(k.last_used_at, v.at)
         from json_to_recordset(?::json) as v(id uuid, at timestamptz) where k.id = v.id`,
      [JSON.stringify(entries.map(([id, at]) => ({ id, at: at.toISOString() })))],
    );
  }
}

export function toAuthInfo(k: ApiKey): AuthInfo {
  return { keyId: k.id, name: k.name, role: k.role, userId: k.userId ?? null, projectId: k.projectId ?? null, service: k.service ?? null };
}
