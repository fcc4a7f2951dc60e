import { AppError } from '../common/errors';
import type { ChatRequest, ProviderId, WireFormat } from './provider.types';

/**
 * What an adapter does with the fields of a client's body that came through a front door of the
 * OTHER wire format (a body of its own format is passed through whole: {@link sameWireBody}).
 * This table and docs/compatible-api.md ("Fields") say the same thing; a field in neither list
 * of its direction is refused with BAD_USER_INPUT naming it: nothing is dropped silently.
 * - `replaced`: the adapter sets it itself (model, output cap, stream fields) or takes it from
 *   the request's `messages` / `temperature`, which the front door filled from the body;
 * - `ignored`: means nothing to the other provider (documented, not an error);
 * - a function: translated exactly; it returns the provider's fields, or throws for a value
 *   with no exact translation;
 * - `neutral`: accepted only with the value that changes nothing (e.g. `n: 1`), refused otherwise.
 */
type Rule = 'replaced' | 'ignored' | { neutral: (v: unknown) => boolean } | ((v: unknown, field: string) => Record<string, unknown>);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** BAD_USER_INPUT for a client field the provider cannot be sent. */
export function untranslatable(provider: ProviderId, field: string, why: string): AppError {
  return new AppError('BAD_USER_INPUT', `${field}: ${why} (provider ${provider})`, { field, provider });
}

const neutralOnly = (...ok: unknown[]) => ({ neutral: (v: unknown) => ok.some((o) => JSON.stringify(o) === JSON.stringify(v)) });

function stringList(v: unknown, field: string, max: number): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string'))
    throw new AppError('BAD_USER_INPUT', `${field}: expected a string or a list of strings`, { field });
  if (list.length > max) throw new AppError('BAD_USER_INPUT', `${field}: at most ${max} stop sequences translate`, { field });
  return list;
}

/** Checks a message's content is text only: a string, or parts/blocks of type `text` (`cache_control` on an Anthropic block is a caching hint, ignored). */
function assertTextContent(content: unknown, field: string, allowedPartKeys: string[]): void {
  if (typeof content === 'string' || content === null || content === undefined) return;
  if (!Array.isArray(content)) throw new AppError('BAD_USER_INPUT', `${field}: expected a string or a list of parts`, { field });
  content.forEach((part: unknown, j) => {
    if (!isRecord(part) || part.type !== 'text') {
      throw new AppError(
        'BAD_USER_INPUT',
        `${field}[${j}]: only text parts translate to the other provider's format, got ${isRecord(part) ? String(part.type) : typeof part}`,
        { field: `${field}[${j}]` },
      );
    }
    for (const k of Object.keys(part)) {
      if (!['type', 'text', ...allowedPartKeys].includes(k))
        throw new AppError('BAD_USER_INPUT', `${field}[${j}].${k}: does not translate to the other provider's format`, {
          field: `${field}[${j}].${k}`,
        });
    }
  });
}

function checkMessages(v: unknown, roles: string[], allowedPartKeys: string[]): Record<string, unknown> {
  if (!Array.isArray(v)) return {};
  v.forEach((m: unknown, i) => {
    if (!isRecord(m)) return;
    if (typeof m.role !== 'string' || !roles.includes(m.role)) {
      throw new AppError(
        'BAD_USER_INPUT',
        `messages[${i}].role: "${String(m.role)}" messages do not translate to the other provider's format (tool calls and results pass only to a provider of the same format)`,
        { field: `messages[${i}].role` },
      );
    }
    for (const k of Object.keys(m)) {
      if (k !== 'role' && k !== 'content' && !(k === 'tool_calls' && Array.isArray(m[k]) && (m[k] as unknown[]).length === 0)) {
        throw new AppError('BAD_USER_INPUT', `messages[${i}].${k}: does not translate to the other provider's format`, {
          field: `messages[${i}].${k}`,
        });
      }
    }
    assertTextContent(m.content, `messages[${i}].content`, allowedPartKeys);
  });
  return {};
}

/** An OpenAI Chat Completions body sent to Anthropic. */
export const OPENAI_TO_ANTHROPIC: Record<string, Rule> = {
  model: 'replaced',
  messages: (v) => checkMessages(v, ['system', 'developer', 'user', 'assistant'], []),
  max_tokens: 'replaced',
  max_completion_tokens: 'replaced',
  stream: 'replaced',
  stream_options: 'replaced',
  temperature: (v, field) => {
    if (typeof v !== 'number' || v > 1)
      throw new AppError('BAD_USER_INPUT', `${field}: Anthropic takes 0 to 1, got ${String(v)}`, { field });
    return {};
  },
  top_p: (v) => ({ top_p: v }),
  stop: (v, field) => ({ stop_sequences: stringList(v, field, Infinity) }),
  user: (v) => (typeof v === 'string' ? { metadata: { user_id: v } } : {}),
  n: neutralOnly(1),
  response_format: neutralOnly({ type: 'text' }),
  logprobs: neutralOnly(false),
  presence_penalty: neutralOnly(0),
  frequency_penalty: neutralOnly(0),
  tools: neutralOnly([]),
  store: 'ignored',
  metadata: 'ignored',
};

/** An Anthropic Messages body sent to an OpenAI-compatible provider. */
export const ANTHROPIC_TO_OPENAI: Record<string, Rule> = {
  model: 'replaced',
  messages: (v) => checkMessages(v, ['user', 'assistant'], ['cache_control']),
  system: (v, field) => (assertTextContent(v, field, ['cache_control']), {}),
  max_tokens: 'replaced',
  stream: 'replaced',
  temperature: 'replaced',
  top_p: (v) => ({ top_p: v }),
  // OpenAI takes at most 4 stop sequences.
  stop_sequences: (v, field) => ({ stop: stringList(v, field, 4) }),
  metadata: (v, field) => {
    if (!isRecord(v)) return {};
    for (const k of Object.keys(v))
      if (k !== 'user_id') throw new AppError('BAD_USER_INPUT', `${field}.${k}: does not translate`, { field: `${field}.${k}` });
    return typeof v.user_id === 'string' ? { user: v.user_id } : {};
  },
  thinking: neutralOnly({ type: 'disabled' }),
  tools: neutralOnly([]),
};

/**
 * The provider fields translated from a client body of the other format, or BAD_USER_INPUT
 * naming the first field that does not translate. Checked before anything is sent.
 */
export function translateWire(provider: ProviderId, from: WireFormat, body: Record<string, unknown>): Record<string, unknown> {
  const table = from === 'openai' ? OPENAI_TO_ANTHROPIC : ANTHROPIC_TO_OPENAI;
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(body)) {
    // A null is the client saying "not set": absent, whatever the field.
    if (value === undefined || value === null) continue;
    const rule = Object.hasOwn(table, field) ? table[field] : undefined;
    if (rule === undefined) throw untranslatable(provider, field, `has no exact translation from the ${from} format`);
    if (rule === 'replaced' || rule === 'ignored') continue;
    if (typeof rule === 'function') Object.assign(out, rule(value, field));
    else if (!rule.neutral(value)) throw untranslatable(provider, field, `only its neutral value translates from the ${from} format`);
  }
  return out;
}

/**
 * The client's body for a provider of the same format: everything as the client sent it, except
 * `model`, the output-cap fields (`drop`, then `cap`) and the stream fields (`stream` set by the
 * caller).
 */
export function sameWireBody(req: ChatRequest, drop: string[], cap: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { ...req.wire?.body };
  for (const k of [...drop, 'stream', 'stream_options']) delete body[k];
  return { ...body, model: req.model, ...cap };
}
