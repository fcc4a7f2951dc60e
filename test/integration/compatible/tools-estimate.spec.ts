/**
 * What a front door's body adds to the prompt beyond its messages' text (tool definitions, image
 * parts) is reserved too: a hard budget that fits the text alone refuses the same request with
 * tools or an image before any provider call, instead of letting the provider bill past it.
 */
import type OpenAI from 'openai';
import { completionHelpers, GPT4O_PROMPT_TOKENS } from '../../utils/completions';
import { OPENAI_MESSAGES as messages, useSdkServer } from '../../utils/compatible';

const fx = useSdkServer();
const { uniq, budget } = completionHelpers(() => fx.s);
const OUTPUT = 20;
/** A tool whose definition alone is far more than the budget's headroom (~1,000 tokens of description). */
const tools: OpenAI.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'lookup',
      description: Array.from({ length: 1_000 }, (_, i) => `word${i}`).join(' '),
      parameters: { type: 'object', properties: { q: { type: 'string' } } },
    },
  },
];

async function userWithTokenBudget(headroom: number) {
  const user = uniq('tools');
  await budget({
    budgetType: 'USER',
    userId: user,
    limitType: 'TOKENS',
    limitValue: GPT4O_PROMPT_TOKENS + OUTPUT + headroom,
    hardLimitEnabled: true,
  });
  return user;
}
const create = (user: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
  fx.openai.chat.completions.create({ model: 'openai/gpt-4o', messages, max_tokens: OUTPUT, user, ...extra });
const status = (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e: unknown) => (e as { status?: number }).status,
  );

describe('the reservation of a compatible request counts more than its messages text', () => {
  it('serves the text-only request the budget fits', async () => {
    const user = await userWithTokenBudget(50);
    expect(await status(create(user))).toBe(200);
  });

  it('refuses the same request with a large tool definition, before calling the provider', async () => {
    const user = await userWithTokenBudget(50);
    const before = fx.sim.control.requestCount;
    expect(await status(create(user, { tools }))).toBe(402);
    expect(fx.sim.control.requestCount).toBe(before);
  });

  it('refuses the same request with an image part (reserved at the most an image may be billed)', async () => {
    const user = await userWithTokenBudget(500);
    const withImage: OpenAI.ChatCompletionMessageParam[] = [
      ...messages.slice(0, -1),
      {
        role: 'user',
        content: [
          { type: 'text', text: String(messages[messages.length - 1].content) },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ],
      },
    ];
    expect(await status(create(user, { messages: withImage }))).toBe(402);
    // 500 tokens of headroom fit the text; the image's bound (1,445 for gpt-4o) does not.
    expect(await status(create(user))).toBe(200);
  });
});
