import type { AppError } from '../../common/errors';
import { simulatedEmbedding, simulatedEmbeddingTokens } from '../../../test/fixtures/provider-simulator';
import { createProviderRegistry, type ProviderRegistryOptions } from '../provider-registry';
import { PROVIDER_CLIENTS, type ChatRequest, type ProviderAdapter, type StreamEvent } from '../provider.types';
import { FAST_RETRIES, keyed, open, providersConfig } from './simulated-providers';

const rejection = async (p: Promise<unknown>): Promise<AppError> =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as AppError,
  );

async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

/** An OpenAI Chat Completions body using fields the gateway itself knows nothing of. */
const OPENAI_BODY = {
  model: 'openai/gpt-4o',
  messages: [
    { role: 'system', content: 'Use tools.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Please call get_weather for Paris' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      ],
    },
  ],
  tools: [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather now',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    },
  ],
  tool_choice: 'auto',
  response_format: { type: 'json_object' },
  n: 1,
  stop: ['END'],
  seed: 42,
  logprobs: true,
  top_logprobs: 2,
  user: 'svc-42',
  max_tokens: 900,
  stream: true,
  stream_options: { include_obfuscation: false },
};

/** An Anthropic Messages body with fields of its own. */
const ANTHROPIC_BODY = {
  model: 'claude-3-5-sonnet-20241022',
  system: [{ type: 'text', text: 'Use tools.', cache_control: { type: 'ephemeral' } }],
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Please call get_weather for Paris' }] }],
  tools: [{ name: 'get_weather', description: 'Weather now', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
  tool_choice: { type: 'auto' },
  top_k: 5,
  stop_sequences: ['END'],
  metadata: { user_id: 'svc-42' },
  max_tokens: 900,
  stream: false,
};

const chatOf = (model: string, format: 'openai' | 'anthropic', body: Record<string, unknown>, maxTokens = 50): ChatRequest => ({
  model,
  messages: [
    { role: 'system', content: 'Use tools.' },
    { role: 'user', content: 'Please call get_weather for Paris' },
  ],
  maxTokens,
  wire: { format, body },
});

describe.each(PROVIDER_CLIENTS)('the client body over the %s client', (client) => {
  const FAST: ProviderRegistryOptions = { ...FAST_RETRIES, client };
  const get = (id: string): ProviderAdapter => createProviderRegistry(providersConfig(), FAST).get(id);

  describe('to a provider of the same format: passed through whole', () => {
    it('openai: every field as sent, only model, the output cap and the stream fields replaced; raw is the provider body', async () => {
      const res = await get('openai').chat(chatOf('gpt-4o', 'openai', OPENAI_BODY));
      const { max_tokens: _cap, stream: _s, stream_options: _o, ...rest } = OPENAI_BODY;
      expect(keyed.control.requests[0].body).toEqual({ ...rest, model: 'gpt-4o', max_completion_tokens: 50 });
      // The simulator answered the tool call; the front door relays it from raw.
      expect(res.raw).toMatchObject({
        object: 'chat.completion',
        choices: [{ finish_reason: 'tool_calls', message: { tool_calls: [{ function: { name: 'get_weather' } }] } }],
      });
      expect(res.finishReason).toBe('tool_calls');
    });

    it('deepseek and ollama: the same, with max_tokens as their cap', async () => {
      await get('deepseek').chat(chatOf('deepseek-chat', 'openai', OPENAI_BODY, 7));
      await get('ollama').chat(chatOf('llama3.1', 'openai', OPENAI_BODY, 7));
      const { max_tokens: _cap, stream: _s, stream_options: _o, ...rest } = OPENAI_BODY;
      expect(keyed.control.requests[0].body).toEqual({ ...rest, model: 'deepseek-chat', max_tokens: 7 });
      expect(open.control.requests[0].body).toEqual({ ...rest, model: 'llama3.1', max_tokens: 7 });
    });

    it('openai stream: the client stream options kept with include_usage forced; every chunk relayed as raw, tool-call deltas included', async () => {
      const events = await collect(get('openai').chatStream(chatOf('gpt-4o', 'openai', OPENAI_BODY)));
      expect(keyed.control.requests[0].body).toMatchObject({
        stream: true,
        stream_options: { include_obfuscation: false, include_usage: true },
        max_completion_tokens: 50,
      });
      const raws = events.flatMap((e) => (e.type !== 'done' && e.raw ? [e.raw] : []));
      // role + tool name, arguments, finish, usage: 4 chunks, each once.
      expect(raws).toHaveLength(4);
      expect(raws[0]).toMatchObject({ choices: [{ delta: { tool_calls: [{ function: { name: 'get_weather' } }] } }] });
      expect(raws[1]).toMatchObject({
        choices: [{ delta: { tool_calls: [{ function: { arguments: JSON.stringify({ echo: 'Please call get_weather for Paris' }) } }] } }],
      });
      expect(raws[3]).toMatchObject({ choices: [], usage: { completion_tokens: 20 } });
      expect(events.at(-1)).toEqual({ type: 'done', finishReason: 'tool_calls', model: 'gpt-4o' });
    });

    it('anthropic: every field as sent, model and max_tokens replaced, stream set; raw is the provider body', async () => {
      const res = await get('anthropic').chat(chatOf('claude-3-5-sonnet-20241022', 'anthropic', ANTHROPIC_BODY));
      const { stream: _s, ...rest } = ANTHROPIC_BODY;
      expect(keyed.control.requests[0].body).toEqual({ ...rest, max_tokens: 50 });
      expect(res.raw).toMatchObject({
        type: 'message',
        stop_reason: 'tool_use',
        content: [{ type: 'tool_use', name: 'get_weather', input: { echo: 'Please call get_weather for Paris' } }],
      });
      const events = await collect(get('anthropic').chatStream(chatOf('claude-3-5-sonnet-20241022', 'anthropic', ANTHROPIC_BODY)));
      expect(keyed.control.requests[1].body).toEqual({ ...rest, max_tokens: 50, stream: true });
      const raws = events.flatMap((e) => (e.type !== 'done' && e.raw ? [e.raw.type] : []));
      expect(raws).toEqual([
        'message_start',
        'content_block_start',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]);
    });
  });

  describe('to a provider of the other format: translated where exact, else refused', () => {
    it('openai body to anthropic: stop, top_p and user translated, neutral values accepted', async () => {
      const body = {
        model: 'x',
        messages: [
          { role: 'developer', content: 'Use tools.' },
          { role: 'user', content: [{ type: 'text', text: 'hi' }] },
        ],
        stop: 'END',
        top_p: 0.5,
        user: 'svc-42',
        n: 1,
        logprobs: false,
        store: true,
        max_completion_tokens: 10,
      };
      const events = await collect(get('anthropic').chatStream({ ...chatOf('claude-3-haiku-20240307', 'openai', body), temperature: 0.4 }));
      expect(events.at(-1)).toMatchObject({ type: 'done' });
      expect(keyed.control.requests[0].body).toEqual({
        model: 'claude-3-haiku-20240307',
        max_tokens: 50,
        system: 'Use tools.',
        messages: [{ role: 'user', content: 'Please call get_weather for Paris' }],
        temperature: 0.4,
        stop_sequences: ['END'],
        top_p: 0.5,
        metadata: { user_id: 'svc-42' },
        stream: true,
      });
    });

    it('anthropic body to openai: stop_sequences, top_p and metadata.user_id translated; system and cache hints taken from the messages', async () => {
      const body = {
        model: 'x',
        system: [{ type: 'text', text: 'Use tools.', cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: 'hi' }],
        stop_sequences: ['END', 'STOP'],
        top_p: 0.5,
        metadata: { user_id: 'svc-42' },
        thinking: { type: 'disabled' },
        max_tokens: 10,
      };
      await get('openai').chat(chatOf('gpt-4o-mini', 'anthropic', body));
      expect(keyed.control.requests[0].body).toEqual({
        model: 'gpt-4o-mini',
        max_completion_tokens: 50,
        messages: [
          { role: 'system', content: 'Use tools.' },
          { role: 'user', content: 'Please call get_weather for Paris' },
        ],
        stop: ['END', 'STOP'],
        top_p: 0.5,
        user: 'svc-42',
      });
    });

    const REFUSED: { to: string; model: string; from: 'openai' | 'anthropic'; body: Record<string, unknown>; field: string }[] = [
      { to: 'anthropic', model: 'claude-3-haiku-20240307', from: 'openai', body: { tools: OPENAI_BODY.tools }, field: 'tools' },
      { to: 'anthropic', model: 'claude-3-haiku-20240307', from: 'openai', body: { seed: 1 }, field: 'seed' },
      { to: 'anthropic', model: 'claude-3-haiku-20240307', from: 'openai', body: { n: 2 }, field: 'n' },
      {
        to: 'anthropic',
        model: 'claude-3-haiku-20240307',
        from: 'openai',
        body: { response_format: { type: 'json_object' } },
        field: 'response_format',
      },
      { to: 'anthropic', model: 'claude-3-haiku-20240307', from: 'openai', body: { temperature: 1.5 }, field: 'temperature' },
      {
        to: 'anthropic',
        model: 'claude-3-haiku-20240307',
        from: 'openai',
        body: { messages: OPENAI_BODY.messages },
        field: 'messages[1].content[1]',
      },
      {
        to: 'anthropic',
        model: 'claude-3-haiku-20240307',
        from: 'openai',
        body: { messages: [{ role: 'tool', tool_call_id: 'c1', content: '{}' }] },
        field: 'messages[0].role',
      },
      { to: 'anthropic', model: 'claude-3-haiku-20240307', from: 'openai', body: { some_future_field: true }, field: 'some_future_field' },
      { to: 'openai', model: 'gpt-4o-mini', from: 'anthropic', body: { top_k: 5 }, field: 'top_k' },
      { to: 'openai', model: 'gpt-4o-mini', from: 'anthropic', body: { tools: ANTHROPIC_BODY.tools }, field: 'tools' },
      {
        to: 'deepseek',
        model: 'deepseek-chat',
        from: 'anthropic',
        body: { stop_sequences: ['a', 'b', 'c', 'd', 'e'] },
        field: 'stop_sequences',
      },
      {
        to: 'ollama',
        model: 'llama3.1',
        from: 'anthropic',
        body: {
          messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'x' } }] }],
        },
        field: 'messages[0].content[0]',
      },
      {
        to: 'openai',
        model: 'gpt-4o-mini',
        from: 'anthropic',
        body: { thinking: { type: 'enabled', budget_tokens: 1024 } },
        field: 'thinking',
      },
    ];
    it.each(REFUSED)(
      '$from → $to: refuses $field with BAD_USER_INPUT before sending anything, streamed or not',
      async ({ to, model, from, body, field }) => {
        const adapter = get(to);
        const req = chatOf(model, from, { model: 'x', messages: [{ role: 'user', content: 'hi' }], ...body });
        for (const err of [await rejection(adapter.chat(req)), await rejection(collect(adapter.chatStream(req)))]) {
          expect(err).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field } });
          expect(err.message).toMatch(new RegExp(`^${field.replace(/[[\]]/g, '\\$&')}: `));
        }
        expect(keyed.control.requestCount + open.control.requestCount).toBe(0);
      },
    );
  });

  describe('embeddings', () => {
    it.each([
      { id: 'openai', model: 'text-embedding-3-small', sim: () => keyed, path: '/v1/embeddings' },
      { id: 'ollama', model: 'nomic-embed-text', sim: () => open, path: '/v1/embeddings' },
    ])(
      '$id: one vector per input in order, the input tokens the provider reports, client fields passed',
      async ({ id, model, sim, path }) => {
        const input = ['first text', 'the second, longer text', 'ünïcödé'];
        const res = await get(id).embed({
          model,
          input,
          wire: { format: 'openai', body: { model: `${id}/${model}`, input, dimensions: 4, user: 'svc-42' } },
        });
        expect(res.model).toBe(model);
        expect(res.data).toEqual(input.map((t) => simulatedEmbedding(t, 4)));
        expect(res.inputTokens).toBe(simulatedEmbeddingTokens(input));
        expect(sim().control.requests[0]).toMatchObject({
          path,
          body: { model, input, dimensions: 4, user: 'svc-42', encoding_format: 'float' },
        });
        // base64 when the client asks for it: the provider's strings, decoding to the same vectors.
        const b64 = await get(id).embed({
          model,
          input: ['first text'],
          wire: { format: 'openai', body: { encoding_format: 'base64', dimensions: 4 } },
        });
        const s = b64.data[0] as string;
        expect(typeof s).toBe('string');
        expect(Array.from(new Float32Array(new Uint8Array(Buffer.from(s, 'base64')).buffer))).toEqual(simulatedEmbedding('first text', 4));
      },
    );

    it.each(['anthropic', 'deepseek'])('%s has no embeddings API: BAD_USER_INPUT, nothing sent', async (id) => {
      const err = await rejection(get(id).embed({ model: 'm', input: ['x'] }));
      expect(err).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'model', provider: id } });
      expect(keyed.control.requestCount).toBe(0);
    });
  });
});
