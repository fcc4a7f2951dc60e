import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { ProviderSimulator } from '../fixtures/provider-simulator';
import { MESSAGES } from './completions';
import { lateBound, useSimulatedServer, type SimulatedServer } from './fixture';
import { ADMIN_KEY, ok, type TestServer } from './server';
import { waitFor } from './wait';

/** The prompt of the `complete` suites as each SDK types it. */
export const OPENAI_MESSAGES = MESSAGES as OpenAI.ChatCompletionMessageParam[];
export const ANTHROPIC_MESSAGES = MESSAGES as Anthropic.MessageParam[];

/** The official SDKs pointed at the gateway's compatible doors, as an application would (only baseURL and key changed). */
export function sdkClients(s: TestServer, key = ADMIN_KEY, opts: { maxRetries?: number; fetch?: typeof fetch } = {}) {
  const common = { apiKey: key, maxRetries: opts.maxRetries ?? 0, ...(opts.fetch ? { fetch: opts.fetch } : {}) };
  return {
    openai: new OpenAI({ ...common, baseURL: `${s.app.url}/v1` }),
    anthropic: new Anthropic({ ...common, baseURL: `${s.app.url}/anthropic` }),
  };
}

/**
 * {@link useSimulatedServer} with the SDK clients of {@link sdkClients} (admin key, no retries)
 * pointed at its server, for a whole spec file: every handle is usable from the tests on.
 */
export function useSdkServer(env: Record<string, string> = {}): SimulatedServer & ReturnType<typeof sdkClients> {
  const fx = useSimulatedServer(env);
  let clients: ReturnType<typeof sdkClients> | undefined;
  beforeAll(() => {
    clients = sdkClients(fx.s);
  });
  return {
    ...fx,
    openai: lateBound(() => clients?.openai, 'useSdkServer'),
    anthropic: lateBound(() => clients?.anthropic, 'useSdkServer'),
  };
}

/** A fetch that counts the requests it sends (to see whether an SDK retried). */
export function countingFetch(): { fetch: typeof fetch; count: () => number } {
  let n = 0;
  return { fetch: ((input: Parameters<typeof fetch>[0], init?: RequestInit) => (n++, fetch(input, init))) as typeof fetch, count: () => n };
}

export interface UsageRecord {
  requestId: string;
  userId: string | null;
  projectId: string | null;
  service: string | null;
  endpoint: string | null;
  requestedProvider: string;
  requestedModel: string;
  provider: string;
  model: string;
  fallbackUsed: boolean;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  totalCost: number;
  success: boolean;
  errorCode: string | null;
  timeToFirstTokenMs: number | null;
}

/** The usage records of a user, newest first. */
export async function usageOf(s: TestServer, userId: string): Promise<UsageRecord[]> {
  const r = await s.gql<{ usageRecords: UsageRecord[] }>(
    `query($f: UsageFilter) { usageRecords(filter: $f, first: 100) {
      requestId userId projectId service endpoint requestedProvider requestedModel provider model fallbackUsed
      inputTokens outputTokens cachedTokens totalCost success errorCode timeToFirstTokenMs } }`,
    { f: { userId } },
  );
  return ok(r).usageRecords;
}

/** Whether nothing is held on this server any more (in memory: the requests holding budget now). */
export const holdsNone = (s: TestServer) => s.app.services.completions.heldRequestIds().length === 0;

/**
 * The usage record of `user`'s stream that its client left: once the simulator has seen the
 * stream closed early, waits (`what` names it in a timeout) for the record marked CLIENT_DISCONNECTED.
 */
export async function disconnectedRecord(sim: ProviderSimulator, s: TestServer, user: string, what: string): Promise<UsageRecord> {
  await sim.control.waitForStreamsClosedEarly(1);
  return waitFor(async () => (await usageOf(s, user)).find((r) => r.errorCode === 'CLIENT_DISCONNECTED'), 15_000, what);
}
