import type { NormalizedUsage } from '../provider.types';
import { OpenAICompatibleAdapter, normalizeOpenAIUsage, type OpenAICompatibleUsage } from '../openai-compatible/openai-compatible.adapter';

/**
 * DeepSeek reports `prompt_cache_hit_tokens` + `prompt_cache_miss_tokens` (= `prompt_tokens`).
 * When both are present they are authoritative; otherwise the OpenAI fields are used.
 */
export function normalizeDeepSeekUsage(u: OpenAICompatibleUsage | null | undefined): NormalizedUsage {
  const hit = u?.prompt_cache_hit_tokens;
  const miss = u?.prompt_cache_miss_tokens;
  if (typeof hit === 'number' && typeof miss === 'number') {
    return { inputTokens: miss, cachedTokens: hit, cacheWriteTokens: 0, outputTokens: u?.completion_tokens ?? 0 };
  }
  if (typeof hit === 'number') {
    const prompt = u?.prompt_tokens ?? 0;
    const cached = Math.min(hit, prompt);
    return { inputTokens: prompt - cached, cachedTokens: cached, cacheWriteTokens: 0, outputTokens: u?.completion_tokens ?? 0 };
  }
  return normalizeOpenAIUsage(u);
}

/** DeepSeek's OpenAI-compatible API (`DEEPSEEK_API_KEY`, `DEEPSEEK_BASE_URL`, default `https://api.deepseek.com`). */
export class DeepSeekAdapter extends OpenAICompatibleAdapter {
  readonly id = 'deepseek' as const;

  protected override normalizeUsage(u: OpenAICompatibleUsage | null | undefined): NormalizedUsage {
    return normalizeDeepSeekUsage(u);
  }

  // DeepSeek's API has chat and completions endpoints only (api-docs.deepseek.com): no embeddings.
  protected override hasEmbeddings(): boolean {
    return false;
  }
}
