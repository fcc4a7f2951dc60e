import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppError } from '../../common/errors';
import type { ProviderSimulator } from '../../../test/fixtures/provider-simulator';
import { createProviderRegistry, isKnownProvider, type ProviderRegistryOptions } from '../provider-registry';
import { PROVIDER_CLIENTS, type ProviderClient, type ProviderId } from '../provider.types';

import { BAD_KEY, CASES, FAST_RETRIES, GOOD_KEY, MESSAGES, keyed, providerError, providersConfig, type Case } from './simulated-providers';

// Every case runs through the official SDK (which proves the simulator speaks the real wire
// format) and through the lean client (which must then behave the same against it).
const RUNS = CASES.flatMap((c) => PROVIDER_CLIENTS.map((client) => ({ ...c, client })));

describe.each(RUNS)('$id adapter through the $client client', (c) => {
  const FAST: ProviderRegistryOptions = { ...FAST_RETRIES, client: c.client };
  it('returns the reply and the prompt/output tokens the provider reports', async () => {
    const adapter = createProviderRegistry(providersConfig(), FAST).get(c.id);
    const res = await adapter.chat({ model: c.model, messages: MESSAGES, maxTokens: 5 });
    expect(res.message.role).toBe('assistant');
    expect(res.message.content).toBe('ok ok ok ok ok');
    expect(res.model).toBe(c.model);
    expect(res.finishReason).toBe(c.id === 'anthropic' ? 'max_tokens' : 'length');
    expect(res.usage).toEqual({ inputTokens: c.promptTokens(MESSAGES), cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 5 });
    expect(c.sim().control.requests[0].maxTokens).toBe(5);
  });

  it('splits cached prompt tokens out of inputTokens', async () => {
    const adapter = createProviderRegistry(providersConfig(), FAST).get(c.id);
    c.sim().control.setCachedTokens(7);
    c.sim().control.setCacheWriteTokens(4);
    const res = await adapter.chat({ model: c.model, messages: MESSAGES });
    const prompt = c.promptTokens(MESSAGES);
    if (c.id === 'ollama') {
      // Ollama reports no cache fields at all.
      expect(res.usage).toEqual({ inputTokens: prompt, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 20 });
    } else if (c.id === 'anthropic') {
      expect(res.usage).toEqual({ inputTokens: prompt - 11, cachedTokens: 7, cacheWriteTokens: 4, outputTokens: 20 });
    } else {
      expect(res.usage).toEqual({ inputTokens: prompt - 7, cachedTokens: 7, cacheWriteTokens: 0, outputTokens: 20 });
    }
    expect(res.finishReason).toBe(c.id === 'anthropic' ? 'end_turn' : 'stop');
  });

  it('retries a 429 after the retry-after the provider asks for, then succeeds', async () => {
    const adapter = createProviderRegistry(providersConfig(), FAST).get(c.id);
    c.sim().control.failNext(1, 429, { retryAfterSeconds: 0.3 });
    const started = Date.now();
    const res = await adapter.chat({ model: c.model, messages: MESSAGES });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(res.usage.outputTokens).toBe(20);
    expect(c.sim().control.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('gives up after maxRetries on 500 with PROVIDER_ERROR carrying the status', async () => {
    const adapter = createProviderRegistry(providersConfig(), FAST).get(c.id);
    c.sim().control.failNext(10, 500);
    const err = await providerError(adapter.chat({ model: c.model, messages: MESSAGES }));
    expect(err.code).toBe('PROVIDER_ERROR');
    expect(err.extensions).toMatchObject({ provider: c.id, status: 500, attempts: 3 });
    expect(err.message).toMatch(new RegExp(`^${c.id}: 500 `));
    expect(c.sim().control.requestCount).toBe(3);
  });

  it("passes on the provider's status, error type and message, and nothing else of its error body", async () => {
    const adapter = createProviderRegistry(providersConfig({ maxRetries: 0 }), FAST).get(c.id);
    const error = {
      type: 'invalid_request_error',
      message: 'model is overloaded, try later',
      param: 'model',
      upstream: 'llm-pool-7.corp.internal:8443',
    };
    c.sim().control.failNext(1, 400, {
      body:
        c.id === 'anthropic'
          ? { type: 'error', error, debug: { host: 'llm-pool-7.corp.internal' } }
          : { error, debug: { host: 'llm-pool-7.corp.internal' } },
    });
    const err = await providerError(adapter.chat({ model: c.model, messages: MESSAGES }));
    expect(err.message).toBe(`${c.id}: 400 model is overloaded, try later`);
    expect(err.extensions).toEqual({ provider: c.id, status: 400, attempts: 1, providerErrorType: 'invalid_request_error' });
  });

  it('passes no part of a body that is not a provider error (an HTML page from a proxy, a bare JSON object)', async () => {
    const adapter = createProviderRegistry(providersConfig({ maxRetries: 0 }), FAST).get(c.id);
    c.sim().control.failNext(1, 502, { body: '<html><body>502 Bad Gateway: upstream gw-3.corp.internal (10.0.3.7) refused</body></html>' });
    const html = await providerError(adapter.chat({ model: c.model, messages: MESSAGES }));
    expect(html.message).toBe(`${c.id}: 502 Bad Gateway`);
    expect(html.extensions).toEqual({ provider: c.id, status: 502, attempts: 1 });
    c.sim().control.failNext(1, 503, { body: { detail: 'node gw-3.corp.internal is draining' } });
    const bare = await providerError(adapter.chat({ model: c.model, messages: MESSAGES }));
    expect(bare.message).toBe(`${c.id}: 503 Service Unavailable`);
    // Ollama's own error shape: { "error": "<message>" }.
    c.sim().control.failNext(1, 404, { body: { error: 'model "llama9" not found, try pulling it first' } });
    const ollama = await providerError(adapter.chat({ model: c.model, messages: MESSAGES }));
    expect(ollama.message).toBe(`${c.id}: 404 model "llama9" not found, try pulling it first`);
  });

  it('times out a hung provider with PROVIDER_ERROR', async () => {
    const adapter = createProviderRegistry(providersConfig({ timeoutMs: 150, maxRetries: 1 }), FAST).get(c.id);
    c.sim().control.setHang(true);
    const started = Date.now();
    const err = await providerError(adapter.chat({ model: c.model, messages: MESSAGES }));
    expect(err.code).toBe('PROVIDER_ERROR');
    expect(err.extensions).toMatchObject({ provider: c.id, status: null, timeout: true, attempts: 2 });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(c.sim().control.requestCount).toBe(2);
  });

  if (c.needsKey) {
    it('maps a rejected key to PROVIDER_ERROR 401 without retrying or echoing the key', async () => {
      const adapter = createProviderRegistry(providersConfig({}, BAD_KEY), FAST).get(c.id);
      const err = await providerError(adapter.chat({ model: c.model, messages: MESSAGES }));
      expect(err.code).toBe('PROVIDER_ERROR');
      expect(err.extensions).toMatchObject({ provider: c.id, status: 401, attempts: 1 });
      expect(c.sim().control.requestCount).toBe(1);
    });

    it('refuses with PROVIDER_NOT_CONFIGURED naming the env var when the key is missing', () => {
      const registry = createProviderRegistry(providersConfig({}, null), FAST);
      const env = `${c.id.toUpperCase()}_API_KEY`;
      expect(() => registry.get(c.id)).toThrow(`Provider ${c.id} is not configured: set ${env}`);
      try {
        registry.get(c.id);
      } catch (e) {
        expect(e).toMatchObject({ code: 'PROVIDER_NOT_CONFIGURED', extensions: { provider: c.id } });
      }
      expect(registry.isConfigured(c.id)).toBe(false);
    });
  }
});

describe('provider registry', () => {
  it('rejects an unknown provider with BAD_USER_INPUT listing the known ones', () => {
    const registry = createProviderRegistry(providersConfig());
    expect(() => registry.get('mistral')).toThrow(/openai, anthropic, deepseek, ollama/);
    expect(() => registry.get('mistral')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });

  it('builds without keys and only fails when a keyless provider is asked for', () => {
    const registry = createProviderRegistry(providersConfig({}, null));
    expect(registry.get('ollama').id).toBe('ollama');
    expect(registry.isConfigured('ollama')).toBe(true);
  });

  it('knows exactly the four provider ids', () => {
    expect(['openai', 'anthropic', 'deepseek', 'ollama'].every(isKnownProvider)).toBe(true);
    expect(isKnownProvider('constructor')).toBe(false);
    expect(isKnownProvider('OpenAI')).toBe(false);
  });
});

describe.each(PROVIDER_CLIENTS)('calls through the %s client', (client: ProviderClient) => {
  const FAST: ProviderRegistryOptions = { ...FAST_RETRIES, client };

  it('honours a whole-second retry-after as the real APIs send it', async () => {
    const adapter = createProviderRegistry(providersConfig(), FAST).get('openai');
    keyed.control.failNext(1, 429, { retryAfterSeconds: 1 });
    const started = Date.now();
    await adapter.chat({ model: 'gpt-4o-mini', messages: MESSAGES });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('fails at once when retry-after exceeds the longest wait allowed', async () => {
    const adapter = createProviderRegistry(providersConfig(), { retry: { ...FAST.retry, maxRetryAfterMs: 500 } }).get('anthropic');
    keyed.control.failNext(1, 429, { retryAfterSeconds: 30 });
    const started = Date.now();
    const err = await providerError(adapter.chat({ model: 'claude-3-haiku-20240307', messages: MESSAGES }));
    expect(err.extensions).toMatchObject({ status: 429, attempts: 1 });
    expect(Date.now() - started).toBeLessThan(400);
  });

  it('stops at once when the caller aborts', async () => {
    const adapter = createProviderRegistry(providersConfig(), FAST).get('deepseek');
    keyed.control.setHang(true);
    const ac = new AbortController();
    // Aborted once the provider has the request (a fixed delay raced a loaded machine: the
    // request then arrived after the abort, and landed in the next test's log).
    const poll = setInterval(() => keyed.control.requestCount > 0 && (clearInterval(poll), ac.abort()), 5);
    const err = await providerError(adapter.chat({ model: 'deepseek-chat', messages: MESSAGES, signal: ac.signal }));
    expect(err.extensions).toMatchObject({ provider: 'deepseek', aborted: true });
    expect(keyed.control.requestCount).toBe(1);
  });

  it('sends max_completion_tokens to OpenAI and max_tokens to compatible providers', async () => {
    const registry = createProviderRegistry(providersConfig(), FAST);
    await registry.get('openai').chat({ model: 'gpt-4o', messages: MESSAGES, maxTokens: 3 });
    await registry.get('deepseek').chat({ model: 'deepseek-chat', messages: MESSAGES, maxTokens: 3 });
    const [o, d] = keyed.control.requests.map((r) => r.body as Record<string, unknown>);
    expect(o).toMatchObject({ max_completion_tokens: 3 });
    expect(o).not.toHaveProperty('max_tokens');
    expect(d).toMatchObject({ max_tokens: 3 });
  });

  it('sends Anthropic system messages as the top-level system field and a default max_tokens', async () => {
    await createProviderRegistry(providersConfig(), FAST).get('anthropic').chat({ model: 'claude-3-haiku-20240307', messages: MESSAGES });
    const body = keyed.control.requests[0].body as Record<string, unknown>;
    expect(body).toMatchObject({ system: 'You are terse.', max_tokens: 1024, messages: [{ role: 'user', content: MESSAGES[1].content }] });
  });
});

describe('the lean client against the SDKs: equivalence', () => {
  type Outcome = { ok: unknown } | { err: { code: string; message: string; extensions: unknown } };
  type Scenario = { name: string; key?: string; setup?: (sim: ProviderSimulator) => void; maxTokens?: number; timeoutMs?: number };
  const SCENARIOS: Scenario[] = [
    { name: 'a plain reply, capped', maxTokens: 7 },
    { name: 'cache reads and writes', setup: (s) => (s.control.setCachedTokens(6), s.control.setCacheWriteTokens(3)) },
    { name: 'a 429 with retry-after, then a reply', setup: (s) => s.control.failNext(1, 429, { retryAfterSeconds: 0.05 }) },
    { name: '500 until the retries run out', setup: (s) => s.control.failNext(10, 500) },
    { name: 'a 400 (not retried)', setup: (s) => s.control.failNext(1, 400) },
    { name: '529 overloaded', setup: (s) => s.control.failNext(10, 529) },
    { name: 'a rejected key', key: BAD_KEY },
    { name: 'a hung provider', setup: (s) => s.control.setHang(true), timeoutMs: 300 },
  ];

  /** Runs one scenario through one client; returns what the adapter gave and what the provider received. */
  async function run(c: Case, client: ProviderClient, sc: Scenario): Promise<{ outcome: Outcome; received: unknown[] }> {
    const sim = c.sim();
    sim.control.reset();
    sc.setup?.(sim);
    const registry = createProviderRegistry(
      providersConfig(sc.timeoutMs ? { timeoutMs: sc.timeoutMs, maxRetries: 1 } : {}, sc.key ?? GOOD_KEY),
      { ...FAST_RETRIES, client },
    );
    let outcome: Outcome;
    try {
      outcome = { ok: await registry.get(c.id).chat({ model: c.model, messages: MESSAGES, maxTokens: sc.maxTokens, temperature: 0.2 }) };
    } catch (e) {
      const a = e as AppError;
      // The simulator stamps Anthropic error bodies with a request id made of the clock.
      outcome = { err: { code: a.code, message: a.message.replace(/req_sim_\d+/, 'req_sim_N'), extensions: a.extensions } };
    }
    return { outcome, received: sim.control.requests.map((r) => ({ path: r.path, status: r.status, body: r.body })) };
  }

  const runs = CASES.flatMap((c) => SCENARIOS.filter((sc) => c.needsKey || !sc.key).map((sc) => ({ c, sc, label: `${c.id}: ${sc.name}` })));
  it.each(runs)('$label', async ({ c, sc }) => {
    const sdk = await run(c, 'sdk', sc);
    const lean = await run(c, 'lean', sc);
    // A timed-out attempt may reach a loaded simulator after the next run reset it: compare what the provider received only where nothing timed out.
    if (sc.timeoutMs) expect(lean.outcome).toEqual(sdk.outcome);
    else expect(lean).toEqual(sdk);
    // Not vacuous: every scenario reached the provider and ended as it should.
    expect(sdk.received.length).toBeGreaterThan(0);
    if (sc.name.startsWith('a plain') || sc.name.startsWith('cache') || sc.name.includes('then a reply'))
      expect(sdk.outcome).toHaveProperty('ok');
    else expect(sdk.outcome).toHaveProperty('err.code', 'PROVIDER_ERROR');
  });
});

describe('the lean client against the SDKs: what the simulator cannot send', () => {
  let proxy: Server;
  let proxyUrl: string;
  beforeAll(async () => {
    // A proxy in front of the provider answering with its own HTML error page.
    proxy = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>'));
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => proxy.close(() => r())));

  const outcome = async (id: ProviderId, baseUrl: string, client: ProviderClient) => {
    const cfg = providersConfig({ maxRetries: 1, [id]: { apiKey: GOOD_KEY, baseUrl } });
    const err = await providerError(
      createProviderRegistry(cfg, { ...FAST_RETRIES, client })
        .get(id)
        .chat({ model: 'm', messages: MESSAGES }),
    );
    return { code: err.code, message: err.message, extensions: err.extensions };
  };

  it.each(['openai', 'anthropic'] as const)('%s: a non-JSON error page gives the same error', async (id) => {
    const sdk = await outcome(id, id === 'openai' ? `${proxyUrl}/v1` : proxyUrl, 'sdk');
    expect(sdk).toEqual({
      code: 'PROVIDER_ERROR',
      message: `${id}: 502 Bad Gateway`,
      extensions: { provider: id, status: 502, attempts: 2 },
    });
    expect(await outcome(id, id === 'openai' ? `${proxyUrl}/v1` : proxyUrl, 'lean')).toEqual(sdk);
  });

  it.each(['openai', 'anthropic'] as const)('%s: a refused connection gives the same error', async (id) => {
    // A port nothing listens on: bound, then closed.
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const sdk = await outcome(id, `http://127.0.0.1:${port}`, 'sdk');
    expect(sdk).toMatchObject({ code: 'PROVIDER_ERROR', extensions: { provider: id, status: null, attempts: 2 } });
    expect(sdk.message).toMatch(new RegExp(`^${id}: connection error`));
    expect(await outcome(id, `http://127.0.0.1:${port}`, 'lean')).toEqual(sdk);
  });
});
