import { DEFAULT_MAX_OUTPUT_TOKENS, type ChatMessage, type ClientWire } from '../providers/provider.types';
import { computeCost } from './cost';
import type { CostBreakdown, Price } from './price.types';

type Encoder = { countTokens: (text: string, opts?: { disallowedSpecial?: Set<string> }) => number };
type EncodingName = 'o200k_base' | 'cl100k_base';

const encoders = new Map<EncodingName, Encoder>();

// Each encoding costs ~0.3 s and ~130 MB to load: only the one needed, on first use.
function encoder(name: EncodingName): Encoder {
  let enc = encoders.get(name);
  if (!enc) {
    /* eslint-disable @typescript-eslint/no-require-imports */
    enc = (name === 'o200k_base' ? require('gpt-tokenizer/encoding/o200k_base') : require('gpt-tokenizer/encoding/cl100k_base')) as Encoder;
    /* eslint-enable @typescript-eslint/no-require-imports */
    encoders.set(name, enc);
  }
  return enc;
}

/** User text is counted as text: `<|endoftext|>` in a prompt is not a special token. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * The tokenizer of an OpenAI model: cl100k for gpt-4 / gpt-4-turbo / gpt-3.5, o200k otherwise (gpt-4o, gpt-4.1, o-series, gpt-5).
 * A fine-tuned model (`ft:<base>:<org>:<suffix>:<id>`) uses its base model's.
 */
export function openAIEncodingFor(model: string): EncodingName {
  const base = model.startsWith('ft:') ? model.slice(3) : model;
  return /^gpt-3\.5/.test(base) || /^gpt-4(?![o.])/.test(base) ? 'cl100k_base' : 'o200k_base';
}

/** Chat framing per OpenAI's cookbook: 3 tokens per message (+ its role), 3 to prime the reply. */
const TOKENS_PER_MESSAGE = 3;
const REPLY_PRIMING = 3;

/**
 * A deliberately high token count for tokenizers we do not ship (Anthropic, DeepSeek, Ollama
 * models): 1 token per 3 ASCII characters (English runs ~4 per token) and 1 per 2 UTF-8 bytes
 * of anything else (a CJK character is 3 bytes → 1.5 tokens; real tokenizers give ~0.6–1.5).
 * Pathological input (single letters between spaces, long punctuation runs) can still exceed it.
 */
export function approximateTokens(text: string): number {
  let ascii = 0;
  let otherBytes = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80) ascii++;
    else otherBytes += cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return Math.ceil(ascii / 3 + otherBytes / 2);
}

/**
 * Prompt tokens a request will be billed for, before sending it.
 * - `openai`: exact — gpt-tokenizer with the model's encoding plus the chat framing
 *   (3 per message + role tokens, + 3 reply priming), what the API reports as `prompt_tokens`.
 * - other providers: {@link approximateTokens} per message + 4 (role and framing), + 3;
 *   calibrated to err high so a reservation covers the real count.
 */
export function estimateInputTokens(provider: string, model: string, messages: readonly ChatMessage[]): number {
  if (provider === 'openai') {
    const enc = encoder(openAIEncodingFor(model));
    let total = REPLY_PRIMING;
    for (const m of messages) total += TOKENS_PER_MESSAGE + enc.countTokens(m.role, PLAIN_TEXT) + enc.countTokens(m.content, PLAIN_TEXT);
    return total;
  }
  let total = REPLY_PRIMING;
  for (const m of messages) total += approximateTokens(m.content) + TOKENS_PER_MESSAGE + 1;
  return total;
}

/** The body fields of a front door whose text the messages' estimate already counts, or that bill no input (chat and embeddings). */
const COUNTED_FIELDS = new Set([
  'model',
  'messages',
  'system',
  'max_tokens',
  'max_completion_tokens',
  'stream',
  'stream_options',
  'temperature',
  'top_p',
  'top_k',
  'n',
  'stop',
  'stop_sequences',
  'seed',
  'user',
  'metadata',
  'logprobs',
  'top_logprobs',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'parallel_tool_calls',
  'store',
  'service_tier',
  // /v1/embeddings: the input is the request's messages already; the others bill nothing.
  'input',
  'encoding_format',
  'dimensions',
]);

/**
 * The most input tokens one image part may be billed: OpenAI gpt-4o-class models at high detail
 * (the image fitted into 2048 px, its short side scaled to 768 px: at most 8 tiles of 512 px,
 * 85 + 170 per tile); the gpt-4o-mini family bills images at 2,833 + 5,667 per tile; Anthropic
 * bills about width x height / 750 of an image resized to at most 1.15 MP (~1,600); other
 * providers are given Anthropic's figure.
 */
export function imageTokenBound(provider: string, model: string): number {
  if (provider === 'openai') return /mini/.test(model) ? 2_833 + 5_667 * 8 : 85 + 170 * 8;
  return 1_600;
}

const isImagePart = (p: Record<string, unknown>): boolean => p.type === 'image_url' || p.type === 'image' || p.type === 'input_image';

/**
 * Prompt tokens of a front door's body that the text of its messages leaves out: tool
 * definitions, `tool_choice`, `response_format` and other fields the provider renders into the
 * prompt; tool calls and results, and non-text parts of messages. Images count
 * {@link imageTokenBound} each; everything else counts as its JSON text (with the model's
 * tokenizer for OpenAI, {@link approximateTokens} otherwise), plus 10 % for the provider's own
 * rendering. An estimate, not a proven bound: the provider renders tools its own way; it keeps a
 * reservation for a request with tools or images from being the text-only fraction of it.
 */
export function estimateWireExtraTokens(provider: string, model: string, wire: ClientWire | undefined): number {
  if (!wire) return 0;
  const count = provider === 'openai' ? (t: string) => encoder(openAIEncodingFor(model)).countTokens(t, PLAIN_TEXT) : approximateTokens;
  let images = 0;
  const uncounted: unknown[] = [];
  for (const [k, v] of Object.entries(wire.body)) if (!COUNTED_FIELDS.has(k) && v !== null && v !== undefined) uncounted.push({ [k]: v });
  const messages = Array.isArray(wire.body.messages) ? (wire.body.messages as unknown[]) : [];
  const system = wire.body.system;
  for (const m of [...(Array.isArray(system) ? [{ content: system }] : []), ...messages]) {
    if (!m || typeof m !== 'object') continue;
    const { role: _role, content, ...rest } = m as Record<string, unknown>;
    if (Object.keys(rest).length) uncounted.push(rest);
    if (!Array.isArray(content)) continue;
    for (const part of content as unknown[]) {
      if (!part || typeof part !== 'object') continue;
      const p = part as Record<string, unknown>;
      if (isImagePart(p)) images++;
      else if (p.type !== 'text') uncounted.push(p);
    }
  }
  const text = uncounted.length ? count(JSON.stringify(uncounted)) : 0;
  return Math.ceil(text * 1.1) + images * imageTokenBound(provider, model);
}

/**
 * The output tokens of `text` a provider streamed so far, with the estimator's tokenizers: for
 * charging a stream the client abandoned (or the provider broke) when the provider sent no usage.
 * - `openai`: exact — the model's encoding over the text, as `completion_tokens` counts a text reply;
 * - other providers: {@link approximateTokens}, which errs high as the input estimate does.
 * Text only: tool-call arguments streamed in raw chunks are not in `text` (pass them in if they count).
 */
export function countStreamedOutputTokens(provider: string, model: string, text: string): number {
  if (text === '') return 0;
  if (provider === 'openai') return encoder(openAIEncodingFor(model)).countTokens(text, PLAIN_TEXT);
  return approximateTokens(text);
}

/**
 * Output tokens to reserve for: `maxTokens` when given (the provider cannot exceed it), else
 * {@link DEFAULT_MAX_OUTPUT_TOKENS} (1024) for every model — what the Anthropic adapter sends
 * as its cap. OpenAI-compatible providers are sent no cap then, so a long reply can exceed it.
 */
export function estimateOutputTokens(_model: string, maxTokens?: number): number {
  if (maxTokens !== undefined) {
    if (!Number.isSafeInteger(maxTokens) || maxTokens < 0)
      throw new RangeError(`maxTokens must be a non-negative integer, got ${maxTokens}`);
    return maxTokens;
  }
  return DEFAULT_MAX_OUTPUT_TOKENS;
}

/**
 * An upper bound on a request's cost: every input token at the full input price (cache
 * reads only make it cheaper; the gateway never asks for cache writes) and every estimated
 * output token at the output price. Units of 1e-12 USD.
 */
export function estimateCost(price: Price, inputTokens: number, outputTokens: number): CostBreakdown {
  return computeCost(price, { inputTokens, cachedTokens: 0, cacheWriteTokens: 0, outputTokens });
}
