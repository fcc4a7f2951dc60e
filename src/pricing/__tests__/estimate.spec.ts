import fc from 'fast-check';
import { simulatedAnthropicPromptTokens, simulatedOpenAIPromptTokens } from '../../../test/fixtures/provider-simulator';
import { parseUnits } from '../../common/money';
import { findSeedPrice } from '../seed-prices';
import {
  approximateTokens,
  countStreamedOutputTokens,
  estimateCost,
  estimateInputTokens,
  estimateOutputTokens,
  estimateWireExtraTokens,
  openAIEncodingFor,
} from '../estimate';

describe('the input estimate against the provider count, for any conversation', () => {
  const text = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.constantFrom('<|endoftext|>', '<|im_start|>user<|im_sep|>', '<|im_end|>', '   ', '\n\n', 'a b c d e f', '1234567890'),
    fc.array(fc.constantFrom('the', ' ', 'ünïcödé', '日本語', '🙂', '<|', '|>', '\t', '.'), { maxLength: 60 }).map((a) => a.join('')),
  );
  const conversation = fc.array(fc.record({ role: fc.constantFrom('system', 'user', 'assistant'), content: text }), {
    minLength: 1,
    maxLength: 6,
  });

  it.each(['gpt-4o', 'gpt-4o-mini', 'gpt-4-turbo'])('%s: equals the rendered ChatML token count (never below it)', (model) => {
    fc.assert(
      fc.property(conversation, (messages) => {
        expect(estimateInputTokens('openai', model, messages)).toBe(simulatedOpenAIPromptTokens(model, messages));
      }),
      { numRuns: 100 },
    );
  });

  it('anthropic, deepseek, ollama: at or above the simulated Anthropic-format count', () => {
    fc.assert(
      fc.property(conversation, (messages) => {
        const reported = simulatedAnthropicPromptTokens(null, messages);
        for (const provider of ['anthropic', 'deepseek', 'ollama'])
          expect(estimateInputTokens(provider, 'm', messages)).toBeGreaterThanOrEqual(reported);
      }),
      { numRuns: 100 },
    );
  });
});

describe('estimate helpers', () => {
  it('picks o200k for the gpt-4o family and cl100k for older models', () => {
    expect(openAIEncodingFor('gpt-4o')).toBe('o200k_base');
    expect(openAIEncodingFor('gpt-4o-mini-2024-07-18')).toBe('o200k_base');
    expect(openAIEncodingFor('gpt-4.1')).toBe('o200k_base');
    expect(openAIEncodingFor('o3-mini')).toBe('o200k_base');
    expect(openAIEncodingFor('gpt-4-turbo')).toBe('cl100k_base');
    expect(openAIEncodingFor('gpt-4')).toBe('cl100k_base');
    expect(openAIEncodingFor('gpt-3.5-turbo')).toBe('cl100k_base');
  });

  it('tokenizes a fine-tuned model as its base model, whatever its suffix names', () => {
    expect(openAIEncodingFor('ft:gpt-4-0613:acme::8abcDEF')).toBe('cl100k_base');
    expect(openAIEncodingFor('ft:gpt-3.5-turbo-0125:acme:support:9xyz')).toBe('cl100k_base');
    expect(openAIEncodingFor('ft:gpt-4o-mini-2024-07-18:acme:gpt-4-parity:AbC123')).toBe('o200k_base');
    expect(openAIEncodingFor('ft:gpt-4o-2024-08-06:acme:gpt-3.5-replacement:AbC124')).toBe('o200k_base');
    expect(openAIEncodingFor('o3-mini-ft')).toBe('o200k_base');
  });

  it('counts OpenAI chat framing: 3 per message + role, 3 for the reply', () => {
    // "Hi" and "user" are one token each in o200k.
    expect(estimateInputTokens('openai', 'gpt-4o', [{ role: 'user', content: 'Hi' }])).toBe(3 + 1 + 1 + 3);
  });

  it('treats special-token text in prompts as plain text', () => {
    expect(estimateInputTokens('openai', 'gpt-4o', [{ role: 'user', content: 'a <|endoftext|> b' }])).toBeGreaterThan(8);
  });

  it('approximates high: ASCII at 3 chars per token, other text at 2 UTF-8 bytes per token', () => {
    expect(approximateTokens('abcdef')).toBe(2);
    expect(approximateTokens('abcdefg')).toBe(3);
    expect(approximateTokens('日本')).toBe(3);
  });

  it('counts each character at its UTF-8 length, at both sides of every length boundary', () => {
    // U+007F is ASCII; U+0080..U+07FF take 2 bytes, U+0800..U+FFFF 3, U+10000 and above 4.
    expect(approximateTokens('\u007f'.repeat(3))).toBe(1);
    expect(approximateTokens('\u0080'.repeat(3))).toBe(3); // 6 bytes
    expect(approximateTokens('é'.repeat(2))).toBe(2); // U+00E9: 4 bytes
    expect(approximateTokens('\u07ff'.repeat(2))).toBe(2);
    expect(approximateTokens('\u0800'.repeat(2))).toBe(3); // 6 bytes
    expect(approximateTokens('\uffff'.repeat(2))).toBe(3);
    expect(approximateTokens('\u{10000}'.repeat(2))).toBe(4); // 8 bytes
    expect(approximateTokens('🙂🙂')).toBe(4);
  });

  it('is ceil(ASCII characters / 3 + other UTF-8 bytes / 2) for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        const ascii = [...s].filter((ch) => ch.length === 1 && ch.charCodeAt(0) < 0x80).length;
        const otherBytes = Buffer.byteLength(s, 'utf8') - ascii;
        expect(approximateTokens(s)).toBe(Math.ceil((2 * ascii + 3 * otherBytes) / 6));
      }),
      { numRuns: 200 },
    );
  });

  it("frames other providers' messages at approximateTokens + 4 each, + 3 for the reply", () => {
    // "abcdef" is 2 approximate tokens, "日本" 3: 3 + (2 + 4) + (3 + 4).
    const messages = [
      { role: 'system' as const, content: 'abcdef' },
      { role: 'user' as const, content: '日本' },
    ];
    for (const provider of ['anthropic', 'deepseek', 'ollama']) expect(estimateInputTokens(provider, 'gpt-4o', messages)).toBe(16);
  });

  it('uses maxTokens for output when given, else 1024', () => {
    expect(estimateOutputTokens('gpt-4o', 77)).toBe(77);
    expect(estimateOutputTokens('gpt-4o')).toBe(1024);
    expect(() => estimateOutputTokens('gpt-4o', -1)).toThrow(RangeError);
  });

  it('takes a maxTokens of 0 (reserve no output) and names a bad one in its error', () => {
    expect(estimateOutputTokens('gpt-4o', 0)).toBe(0);
    expect(() => estimateOutputTokens('gpt-4o', -1)).toThrow(new RangeError('maxTokens must be a non-negative integer, got -1'));
    expect(() => estimateOutputTokens('gpt-4o', 2.5)).toThrow(new RangeError('maxTokens must be a non-negative integer, got 2.5'));
  });

  it("counts a stream's text with the model's own tokenizer for OpenAI, the approximation elsewhere", () => {
    // Counts recorded from gpt-tokenizer for these fixed strings: o200k 7, cl100k 9; as plain text, 9 in o200k.
    expect(countStreamedOutputTokens('openai', 'gpt-4o', '日本語のテキストです')).toBe(7);
    expect(countStreamedOutputTokens('openai', 'gpt-4-turbo', '日本語のテキストです')).toBe(9);
    expect(countStreamedOutputTokens('openai', 'gpt-4o', '<|endoftext|> is text')).toBe(9);
    // 10 characters of 3 UTF-8 bytes: 15 approximate tokens.
    expect(countStreamedOutputTokens('anthropic', 'claude-3-5-sonnet', '日本語のテキストです')).toBe(15);
    expect(countStreamedOutputTokens('openai', 'gpt-4o', '')).toBe(0);
  });

  it('estimates cost as an upper bound at the full input price', () => {
    const price = findSeedPrice('openai', 'gpt-4o')!;
    const est = estimateCost(price, 1_000_000, 1_000_000);
    expect(est.totalCost).toBe(parseUnits('12.5'));
    expect(est.inputCost).toBe(parseUnits('2.5'));
  });
});

describe('estimateWireExtraTokens: what a front door body adds beyond its messages text', () => {
  const text = {
    format: 'openai' as const,
    body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 5, temperature: 0.2, stream: true },
  };
  it('adds nothing for no body, or a body of text messages and counted fields only', () => {
    expect(estimateWireExtraTokens('openai', 'gpt-4o', undefined)).toBe(0);
    expect(estimateWireExtraTokens('openai', 'gpt-4o', text)).toBe(0);
    expect(
      estimateWireExtraTokens('anthropic', 'claude-3-5-sonnet-latest', {
        format: 'anthropic',
        body: { ...text.body, system: [{ type: 'text', text: 'be brief' }] },
      }),
    ).toBe(0);
  });
  it('counts tool definitions, growing with them', () => {
    const tool = (words: number) => ({ type: 'function', function: { name: 'f', description: Array(words).fill('alpha').join(' ') } });
    const small = estimateWireExtraTokens('openai', 'gpt-4o', { format: 'openai', body: { ...text.body, tools: [tool(10)] } });
    const large = estimateWireExtraTokens('openai', 'gpt-4o', { format: 'openai', body: { ...text.body, tools: [tool(1_000)] } });
    // 1,000 repeated words are at least ~1,000 tokens of JSON text in any tokenizer.
    expect(small).toBeGreaterThan(10);
    expect(large).toBeGreaterThan(1_000);
    expect(large).toBeGreaterThan(small);
  });
  it('counts each image part at the most it may be billed, per provider and model', () => {
    const image = { type: 'image_url', image_url: { url: 'https://example.com/a.png' } };
    const body = (n: number) => ({
      format: 'openai' as const,
      body: { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'look' }, ...Array(n).fill(image)] }] },
    });
    expect(estimateWireExtraTokens('openai', 'gpt-4o', body(1))).toBe(1_445);
    expect(estimateWireExtraTokens('openai', 'gpt-4o', body(2))).toBe(2_890);
    expect(estimateWireExtraTokens('openai', 'gpt-4o-mini', body(1))).toBe(48_169);
    expect(
      estimateWireExtraTokens('anthropic', 'claude-3-5-sonnet-latest', {
        format: 'anthropic',
        body: { messages: [{ role: 'user', content: [{ type: 'image', source: {} }] }] },
      }),
    ).toBe(1_600);
  });
  it('counts tool calls and tool results of earlier turns', () => {
    const turns = {
      format: 'openai' as const,
      body: {
        messages: [
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'c1',
                type: 'function',
                function: { name: 'lookup', arguments: JSON.stringify({ q: Array(200).fill('beta').join(' ') }) },
              },
            ],
          },
        ],
      },
    };
    expect(estimateWireExtraTokens('openai', 'gpt-4o', turns)).toBeGreaterThan(200);
  });
  it('counts JSON text with the model tokenizer for OpenAI and the high approximation for others', () => {
    const tools = [{ type: 'function', function: { name: 'f', description: Array(1_000).fill('alpha').join(' ') } }];
    const openai = estimateWireExtraTokens('openai', 'gpt-4o', { format: 'openai', body: { tools } });
    const other = estimateWireExtraTokens('anthropic', 'claude-3-5-sonnet-latest', { format: 'openai', body: { tools } });
    // o200k reads " alpha" as one token: about 1,000 tokens of JSON, +10%; 6,000 characters at 3 per token is 2,000, +10%.
    expect(openai).toBeGreaterThanOrEqual(1_000);
    expect(openai).toBeLessThan(1_300);
    expect(other).toBeGreaterThan(2_000);
  });
  it('counts an input_image part like an image_url one, and any other non-text part as its JSON', () => {
    const body = (part: Record<string, unknown>) => ({
      format: 'openai' as const,
      body: { messages: [{ role: 'user', content: [part] }] },
    });
    expect(estimateWireExtraTokens('openai', 'gpt-4o', body({ type: 'input_image', image_url: 'https://example.com/a.png' }))).toBe(1_445);
    expect(
      estimateWireExtraTokens('openai', 'gpt-4o', body({ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } })),
    ).toBeGreaterThan(5);
    expect(estimateWireExtraTokens('openai', 'gpt-4o', body({ type: 'text', text: Array(50).fill('x').join(' ') }))).toBe(0);
  });
  it('counts non-text blocks of an Anthropic system prompt given as blocks', () => {
    const system = [
      { type: 'text', text: 'be brief' },
      { type: 'document', source: { type: 'text', data: Array(100).fill('gamma').join(' ') } },
    ];
    expect(
      estimateWireExtraTokens('anthropic', 'claude-3-5-sonnet-latest', { format: 'anthropic', body: { system, messages: [] } }),
    ).toBeGreaterThan(100);
  });
  it('counts nothing for null or absent fields, malformed messages and parts, and the fields of an embeddings body', () => {
    const w = (body: Record<string, unknown>) => estimateWireExtraTokens('openai', 'gpt-4o', { format: 'openai', body });
    expect(w({ tools: null, response_format: undefined })).toBe(0);
    expect(w({ messages: [null, 'just a string', 7, { role: 'user', content: [null, 'loose text', 3] }] })).toBe(0);
    expect(
      w({ model: 'text-embedding-3-small', input: Array(100).fill('delta').join(' '), encoding_format: 'float', dimensions: 256 }),
    ).toBe(0);
  });
});
