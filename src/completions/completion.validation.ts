import { badInput } from '../common/errors';
import { MAX_ID_LENGTH, validId as id } from '../common/text';
import type { ChatMessage, ChatRole, ClientWire } from '../providers/provider.types';
import { isKnownProvider, PROVIDER_IDS } from '../providers/provider.types';
import type { CompletionInput } from './completion.input';

/** Limits on a `complete` input, documented in the README. */
export const COMPLETION_LIMITS = {
  maxMessages: 1_000,
  /** Characters per message; the body limit (1 MB) bounds the total. */
  maxMessageChars: 500_000,
  maxIdLength: MAX_ID_LENGTH,
  maxTokens: 1_000_000,
} as const;

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];

export interface CompletionRequest {
  messages: ChatMessage[];
  provider: string;
  model: string;
  userId: string | null;
  projectId: string | null;
  service: string | null;
  endpoint: string | null;
  maxTokens: number | null;
  temperature: number | null;
  idempotencyKey: string | null;
  /** The client's own body, when a provider-compatible front door received it (see `ChatRequest.wire`). */
  wire?: ClientWire;
  /** An embeddings request (`/v1/embeddings`): these inputs, no output; `messages` holds them as user messages for the estimate. */
  embedding?: { input: string[] };
}

/** Field-level checks of a `complete` input; returns the normalised request. */
export function validateCompletion(input: CompletionInput): CompletionRequest {
  if (input.messages.length === 0) throw badInput('messages', 'must not be empty');
  if (input.messages.length > COMPLETION_LIMITS.maxMessages)
    throw badInput('messages', `must have at most ${COMPLETION_LIMITS.maxMessages} entries`);
  const messages = input.messages.map((message, i): ChatMessage => {
    if (!ROLES.includes(message.role as ChatRole)) throw badInput(`messages[${i}].role`, `must be one of ${ROLES.join(', ')}`);
    if (message.content.length > COMPLETION_LIMITS.maxMessageChars)
      throw badInput(`messages[${i}].content`, `must be at most ${COMPLETION_LIMITS.maxMessageChars} characters`);
    if (!message.content.isWellFormed()) throw badInput(`messages[${i}].content`, 'must be valid Unicode (no lone surrogates)');
    return { role: message.role as ChatRole, content: message.content };
  });
  if (!isKnownProvider(input.provider))
    throw badInput('provider', `unknown provider "${input.provider}"; known: ${PROVIDER_IDS.join(', ')}`);
  const model = id('model', input.model)!;
  const maxTokens = input.maxTokens ?? null;
  if (maxTokens !== null && (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > COMPLETION_LIMITS.maxTokens)) {
    throw badInput('maxTokens', `must be a whole number from 1 to ${COMPLETION_LIMITS.maxTokens}`);
  }
  const temperature = input.temperature ?? null;
  if (temperature !== null && (!Number.isFinite(temperature) || temperature < 0 || temperature > 2))
    throw badInput('temperature', 'must be from 0 to 2');
  return {
    messages,
    provider: input.provider,
    model,
    userId: id('userId', input.userId),
    projectId: id('projectId', input.projectId),
    service: id('service', input.service),
    endpoint: id('endpoint', input.endpoint),
    maxTokens,
    temperature,
    idempotencyKey: id('idempotencyKey', input.idempotencyKey),
  };
}
