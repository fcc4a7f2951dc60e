import { OpenAICompatibleAdapter } from '../openai-compatible/openai-compatible.adapter';

/**
 * Ollama's OpenAI-compatible endpoint at `${OLLAMA_BASE_URL}/v1`. Needs no key: the SDK
 * insists on one, and Ollama ignores whatever it is sent.
 */
export class OllamaAdapter extends OpenAICompatibleAdapter {
  readonly id = 'ollama' as const;

  protected override baseURL(): string {
    return `${this.opts.endpoint.baseUrl.replace(/\/+$/, '')}/v1`;
  }

  protected override apiKey(): string {
    return this.opts.endpoint.apiKey ?? 'ollama';
  }
}
