/** The providers this gateway can call; adapters live beside this file. */
export const PROVIDER_IDS = ['openai', 'anthropic', 'deepseek', 'ollama'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];
