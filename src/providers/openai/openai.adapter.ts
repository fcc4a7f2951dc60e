import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { OpenAICompatibleAdapter } from '../openai-compatible/openai-compatible.adapter';

/** OpenAI Chat Completions (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, default `https://api.openai.com/v1`). */
export class OpenAIAdapter extends OpenAICompatibleAdapter {
  readonly id = 'openai' as const;

  // `max_tokens` is rejected by reasoning models; `max_completion_tokens` works for all.
  protected override outputCap(maxTokens: number): Partial<ChatCompletionCreateParamsNonStreaming> {
    return { max_completion_tokens: maxTokens };
  }
}
