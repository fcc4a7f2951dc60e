import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { ApiKeyRole } from '../common/enums';
import { AppError } from '../common/errors';
import type { ApiKeyService } from './api-key.service';
import type { AuthInfo } from './auth.types';
import { forbidden, mayRun } from './policy';
import { rateLimited, type RateLimiter } from './rate-limiter';

/** One request (or WebSocket connection) asking to be let in, whatever carried it. */
export interface AdmissionRequest {
  /** The API key presented (from `Authorization: Bearer`, a connection_init payload, `x-api-key`, …), or null when none was. */
  credential: string | null;
  /** The client's address as `clientAddress` derives it: failed authentications are throttled per address. */
  client: string;
  /** Root operations the request will run (`Query.budget`, …), each checked against OPERATION_ROLES; omit where the transport checks per field. */
  operations?: readonly string[];
  /** Whether the request is one operation of the key's rate limit. A WebSocket connection is not: each of its subscribe messages is (`takeOperation`). @default true */
  countsAsOperation?: boolean;
}

export interface AdmissionDeps {
  apiKeys: ApiKeyService;
  /** Operations per key (RATE_LIMIT_PER_MINUTE). */
  rate: RateLimiter;
  /** Failed authentications per client address (AUTH_FAILURES_PER_MINUTE). */
  failures: RateLimiter;
  /** TRUST_PROXY_HOPS, for `clientOf`. @default 0 */
  trustProxyHops?: number;
}

/**
 * The one way in, for every transport (GraphQL over HTTP and WebSocket, REST,
 * the provider-compatible endpoints): authenticates the key, throttles failed
 * authentications per client address, refuses keys that may not be used (a
 * SERVICE key bound to no service), checks the key's role for the operations
 * named, and takes one operation from the key's rate bucket. Refusals are
 * AppErrors (UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED with
 * `retryAfterSeconds`); each transport renders them (`httpRefusal`, src/common/http-status.ts).
 *
 * While an address is over its failed-authentication budget, only keys that
 * memory can confirm (ADMIN_API_KEY, keys verified in the last
 * API_KEY_CACHE_TTL_MS) get in from it: nothing it sends reaches the
 * database, and a legitimate client sharing its address (behind one proxy)
 * keeps working with a cached key.
 */
export class Admission {
  constructor(private readonly deps: AdmissionDeps) {}

  /** The client address of an HTTP request (or a WebSocket's upgrade request). */
  clientOf(req: Pick<IncomingMessage, 'socket' | 'headers'>): string {
    return clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.deps.trustProxyHops ?? 0);
  }

  async admit(req: AdmissionRequest): Promise<AuthInfo> {
    const auth = await this.authenticate(req.credential, req.client);
    if (auth.role === ApiKeyRole.SERVICE && !auth.service) {
      throw new AppError(
        'FORBIDDEN',
        'This SERVICE key is bound to no service and may not be used; issue a key bound to its service (createApiKey with service) and revoke this one',
        {
          reason: 'SERVICE_KEY_UNBOUND',
        },
      );
    }
    for (const op of req.operations ?? []) if (!mayRun(auth, op)) throw forbidden(auth, op);
    if (req.countsAsOperation !== false) this.takeOperation(auth);
    return auth;
  }

  /** Takes one operation from the key's rate bucket, or throws RATE_LIMITED. */
  takeOperation(auth: AuthInfo): void {
    const rate = this.deps.rate.take(auth.keyId);
    if (!rate.ok) throw rateLimited(rate.retryAfterSeconds, this.deps.rate.perMinute);
  }

  private async authenticate(credential: string | null, client: string): Promise<AuthInfo> {
    if (!credential) throw new AppError('UNAUTHENTICATED', 'An API key is required (Authorization: Bearer <api key>)');
    const blocked = this.deps.failures.peek(client);
    const auth = blocked.ok ? await this.deps.apiKeys.verify(credential) : this.deps.apiKeys.verifyCached(credential);
    if (auth) return auth;
    if (!blocked.ok) throw tooManyFailures(blocked.retryAfterSeconds, this.deps.failures.perMinute);
    this.deps.failures.take(client);
    throw new AppError('UNAUTHENTICATED', 'The API key is unknown or revoked');
  }
}

function tooManyFailures(retryAfterSeconds: number, perMinute: number): AppError {
  return new AppError(
    'RATE_LIMITED',
    `More than ${perMinute} failed authentications per minute from this address; retry in ${retryAfterSeconds} s`,
    {
      retryAfterSeconds,
    },
  );
}

/**
 * The address failed authentications are counted against: the peer's, or,
 * behind `trustedProxyHops` reverse proxies (TRUST_PROXY_HOPS), the one the
 * outermost trusted proxy saw, read from the right of `X-Forwarded-For`
 * (entries further left are the client's to forge). IPv4-mapped IPv6 counts
 * as IPv4; IPv6 addresses count per /64, the block one subscriber holds.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trustedProxyHops: number): string {
  let addr = peer ?? '';
  if (trustedProxyHops > 0 && forwardedFor) {
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    const i = hops.length - trustedProxyHops;
    if (hops.length > 0) addr = hops[Math.max(0, i)];
  }
  return normaliseAddress(addr);
}

function normaliseAddress(addr: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (mapped) return mapped[1];
  if (isIP(addr) !== 6) return addr;
  const [head, tail = ''] = addr.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = addr.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, '').toLowerCase())
    .join(':')}::/64`;
}
