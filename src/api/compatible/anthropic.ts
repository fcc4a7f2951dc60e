import type { Request, Response, Router } from 'express';
import type { AppServices } from '../../app.types';
import { badInput } from '../../common/errors';
import type { Served } from '../../completions/completion-run';
import type { CompletionOutcome, UsageSnapshot } from '../../completions/completion.service';
import type { ChatMessage, StreamEvent } from '../../providers/provider.types';
import {
  admit,
  budgetHeaders,
  completionRequest,
  doorRouter,
  formatOf,
  handle,
  runStream,
  servedOf,
  sse,
  startSse,
  usdOf,
  type ErrorRenderer,
  type RenderedError,
  type StreamWriter,
} from './front-door';

/** Anthropic's error `type` per status (its SDK picks its error class from the status). */
const ANTHROPIC_ERROR_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'invalid_request_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
};

/** `{"type": "error", "error": {"type", "message"}}`, with the GraphQL `extensions.code` as `error.code` (and the other extensions beside). */
export const renderAnthropicError: ErrorRenderer = (code, message, status, extensions) => ({
  type: 'error',
  error: { ...extensions, type: ANTHROPIC_ERROR_TYPE[status] ?? 'api_error', message, code },
});

type Block = { type?: unknown; text?: unknown; content?: unknown };

/** The text of Anthropic content: a string, or its text blocks (tool results' text included); other blocks reach Anthropic through `wire`. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Block[])
    .map((b) => (typeof b?.text === 'string' ? b.text : b?.type === 'tool_result' ? textOf(b.content) : ''))
    .join('');
}

/** Anthropic's `system` and `messages` as the gateway's messages (for the estimate, and for providers of another format). */
export function anthropicMessages(system: unknown, raw: unknown): ChatMessage[] {
  if (!Array.isArray(raw)) throw badInput('messages', 'must be an array of messages');
  const out: ChatMessage[] = system === undefined || system === null ? [] : [{ role: 'system', content: textOf(system) }];
  raw.forEach((m, i) => {
    const role = (m as { role?: unknown })?.role;
    if (role !== 'user' && role !== 'assistant') throw badInput(`messages[${i}].role`, 'must be user or assistant');
    out.push({ role, content: textOf((m as { content?: unknown }).content) });
  });
  return out;
}

/** OpenAI's finish reasons as Anthropic's stop reasons (a fallback to an OpenAI-format model answers in Anthropic's format). */
const STOP: Record<string, string> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', content_filter: 'refusal' };
const anthropicStop = (r: string | null): string => (r === null ? 'end_turn' : (STOP[r] ?? r));

/** Anthropic's usage object of a charged usage record, with its exact cost in USD (`cost`). */
function anthropicUsage(u: UsageSnapshot): Record<string, unknown> {
  return {
    input_tokens: Number(u.inputTokens),
    output_tokens: Number(u.outputTokens),
    cache_creation_input_tokens: Number(u.cacheWriteTokens),
    cache_read_input_tokens: Number(u.cachedTokens),
    cost: usdOf(u.totalCost),
  };
}

/** A message body: Anthropic's own when it served (tool use blocks and all), with `model` what served it and the usage charged. */
function messageBody(out: CompletionOutcome): Record<string, unknown> {
  const raw = out.raw;
  if (raw && formatOf(out.provider) === 'anthropic' && raw.type === 'message')
    return { ...raw, model: out.model, usage: anthropicUsage(out.usage) };
  return {
    id: `msg_${out.requestId}`,
    type: 'message',
    role: 'assistant',
    model: out.model,
    content: [{ type: 'text', text: out.message.content }],
    stop_reason: anthropicStop(out.finishReason),
    stop_sequence: null,
    usage: anthropicUsage(out.usage),
  };
}

/**
 * Anthropic's event sequence: message_start, the content blocks, message_delta (stop reason and
 * the usage charged), message_stop. From Anthropic itself its content block events are relayed
 * as sent (tool use blocks and all); from another provider the text is one text block.
 */
class AnthropicStreamWriter implements StreamWriter {
  /** The provider's stop reason, once it said it. */
  private stop: string | null = null;
  /** The provider speaks Anthropic's format: its content block events can be relayed as sent. */
  private sameFormat = false;
  /** Blocks open now: relayed ones by their index, or our own text block (index 0). */
  private readonly open = new Set<number>();
  /** The provider's own content blocks are being relayed (from its first content_block_start on). */
  private relaying = false;

  constructor(private readonly res: Response) {}

  start(served: Served): void {
    this.sameFormat = formatOf(served.provider) === 'anthropic';
    startSse(this.res, served);
    sse(
      this.res,
      {
        type: 'message_start',
        message: {
          id: `msg_${served.requestId}`,
          type: 'message',
          role: 'assistant',
          model: served.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, output_tokens: 0 },
        },
      },
      'message_start',
    );
  }

  event(e: StreamEvent): void {
    if (e.type === 'done') {
      this.stop = e.finishReason;
      return;
    }
    if (e.type !== 'delta') return;
    if (this.relayed(e.raw)) return;
    if (this.relaying || !e.text) return;
    if (!this.open.has(0)) {
      this.open.add(0);
      sse(this.res, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start');
    }
    sse(this.res, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: e.text } }, 'content_block_delta');
  }

  /** Anthropic's own blocks, once one started as sent: relayed whole (tool use blocks and all). True when `raw` was relayed. */
  private relayed(raw: Record<string, unknown> | undefined): boolean {
    const rawType = this.sameFormat && typeof raw?.type === 'string' ? raw.type : null;
    if (rawType === 'content_block_start' && this.open.size === 0) this.relaying = true;
    if (!this.relaying || !rawType?.startsWith('content_block_')) return false;
    const index = Number(raw!.index ?? 0);
    if (rawType === 'content_block_start') this.open.add(index);
    if (rawType === 'content_block_stop') this.open.delete(index);
    sse(this.res, raw, rawType);
    return true;
  }

  end(out: CompletionOutcome): void {
    for (const index of this.open) sse(this.res, { type: 'content_block_stop', index }, 'content_block_stop');
    sse(
      this.res,
      {
        type: 'message_delta',
        delta: { stop_reason: anthropicStop(this.stop ?? out.finishReason), stop_sequence: null },
        usage: anthropicUsage(out.usage),
      },
      'message_delta',
    );
    sse(this.res, { type: 'message_stop' }, 'message_stop');
    this.res.end();
  }

  error(rendered: RenderedError): void {
    sse(this.res, rendered.body, 'error');
    this.res.end();
  }
}

/** POST /anthropic/v1/messages (Anthropic's wire format; SDK `baseURL` = `http://host:port/anthropic`); mounted at `/anthropic`. */
export function anthropicRouter(services: AppServices): Router {
  const render = renderAnthropicError;
  return doorRouter(services, render, (router) => {
    router.post(
      '/v1/messages',
      handle(services, render, async (req: Request, res: Response) => {
        const auth = await admit(services, req, 'Mutation.complete', true);
        const body = (req.body ?? {}) as Record<string, unknown>;
        // Anthropic requires it, and so does the budget: it bounds what the request can cost.
        if (body.max_tokens === undefined || body.max_tokens === null) throw badInput('max_tokens', 'is required');
        const request = await completionRequest(services, req, {
          messages: anthropicMessages(body.system, body.messages),
          model: body.model,
          maxTokens: body.max_tokens,
          temperature: body.temperature,
          user: (body.metadata as { user_id?: unknown } | undefined)?.user_id,
          wire: { format: 'anthropic', body },
        });
        if (body.stream === true) {
          await runStream(services, res, auth, request, new AnthropicStreamWriter(res), render);
          return;
        }
        const out = await services.completions.complete(auth, request);
        res.set(budgetHeaders(servedOf(out), out.usage.totalCost)).json(messageBody(out));
      }),
    );
  });
}
