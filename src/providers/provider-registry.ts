import type { AppConfig } from '../config/config';
import { AppError } from '../common/errors';
import { AnthropicAdapter } from './anthropic/anthropic.adapter';
import { DeepSeekAdapter } from './deepseek/deepseek.adapter';
import { OllamaAdapter } from './ollama/ollama.adapter';
import { OpenAIAdapter } from './openai/openai.adapter';
import { assertConfigured } from './openai-compatible/openai-compatible.adapter';
import {
  DEFAULT_RETRY_POLICY,
  PROVIDER_IDS,
  isKnownProvider,
  type AdapterOptions,
  type CallPolicy,
  type ProviderAdapter,
  type ProviderClient,
  type ProviderId,
  type RetryPolicy,
} from './provider.types';

export { isKnownProvider } from './provider.types';

export interface ProviderRegistry {
  /**
   * The adapter for `id`. Throws `BAD_USER_INPUT` (listing the known providers) for an
   * unknown id and `PROVIDER_NOT_CONFIGURED` (naming the env var) when its key is missing.
   */
  get(id: string): ProviderAdapter;
  /** Whether `id` is known and has what it needs (a key, except Ollama). Never throws. */
  isConfigured(id: string): boolean;
  /** Closes every adapter's connections (at shutdown, after the last call). */
  close(): Promise<void>;
}

/** Options beyond the config, mainly for tests. */
export interface ProviderRegistryOptions {
  /** Overrides parts of {@link DEFAULT_RETRY_POLICY}. */
  retry?: Partial<RetryPolicy>;
  /** Overrides `cfg.client`. */
  client?: ProviderClient;
}

/**
 * Builds one adapter per provider from `AppConfig['providers']`. Nothing is checked at
 * construction: a provider without a key fails when it is asked for, so the server starts
 * with only the providers it has keys for.
 */
export function createProviderRegistry(cfg: AppConfig['providers'], opts: ProviderRegistryOptions = {}): ProviderRegistry {
  const policy: CallPolicy = {
    timeoutMs: cfg.timeoutMs,
    maxRetries: cfg.maxRetries ?? 2,
    retry: { ...DEFAULT_RETRY_POLICY, ...opts.retry },
  };
  const opt = (id: ProviderId): AdapterOptions => ({ endpoint: cfg[id], policy, client: opts.client ?? cfg.client ?? 'lean' });
  const adapters = {
    openai: new OpenAIAdapter(opt('openai')),
    anthropic: new AnthropicAdapter(opt('anthropic')),
    deepseek: new DeepSeekAdapter(opt('deepseek')),
    ollama: new OllamaAdapter(opt('ollama')),
  } satisfies Record<ProviderId, ProviderAdapter>;

  return {
    get(id: string): ProviderAdapter {
      if (!isKnownProvider(id)) {
        throw new AppError('BAD_USER_INPUT', `Unknown provider "${id}": expected one of ${PROVIDER_IDS.join(', ')}`, {
          field: 'provider',
          provider: id,
        });
      }
      if (id !== 'ollama') assertConfigured(id, cfg[id].apiKey);
      return adapters[id];
    },
    isConfigured(id: string): boolean {
      return isKnownProvider(id) && (id === 'ollama' || Boolean(cfg[id].apiKey));
    },
    async close(): Promise<void> {
      await Promise.all(Object.values(adapters).map((a) => a.close()));
    },
  };
}
