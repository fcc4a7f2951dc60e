// A plain Anthropic SDK program: nothing in it knows about the gateway. Pointed at Anthropic it
// talks to Claude; pointed at the gateway (only the base URL and the key change) every call runs
// under the organisation's budgets, and a fallback to another provider's model still answers in
// Anthropic's format:
//
//   ANTHROPIC_BASE_URL=http://127.0.0.1:4000/anthropic ANTHROPIC_API_KEY=<gateway key> node examples/anthropic-chat.mjs
//
// It asks QUESTIONS questions (default 3), streaming every second answer, and prints one JSON
// line per call: the model that answered, the usage, the exact cost when the server reports one
// (`x-budget-cost`; `usage.cost`), or the error a budget refused it with (HTTP 402).
import Anthropic from '@anthropic-ai/sdk';

const client = new Anthropic(); // ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY from the environment
const model = process.env.MODEL ?? 'claude-3-5-sonnet-latest';
const questions = Number(process.env.QUESTIONS ?? 3);
const metadata = { user_id: process.env.USER_ID ?? 'example-user' };
const messages = [{ role: 'user', content: 'Summarise the quarterly report in one line.' }];

for (let call = 1; call <= questions; call++) {
  try {
    if (call % 2 === 0) {
      const stream = client.messages.stream({ model, max_tokens: 20, messages, metadata });
      let cost = null;
      stream.on('streamEvent', (event) => {
        if (event.type === 'message_delta') cost = event.usage.cost ?? null;
      });
      const message = await stream.finalMessage();
      const text = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
      console.log(JSON.stringify({ call, stream: true, model: message.model, text, usage: message.usage, cost }));
    } else {
      const { data, response } = await client.messages.create({ model, max_tokens: 20, messages, metadata }).withResponse();
      const text = data.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
      console.log(
        JSON.stringify({ call, stream: false, model: data.model, text, usage: data.usage, cost: response.headers.get('x-budget-cost') }),
      );
    }
  } catch (e) {
    if (!(e instanceof Anthropic.APIError)) throw e;
    console.log(
      JSON.stringify({ call, error: { status: e.status, type: e.error?.error?.type, code: e.error?.error?.code, message: e.message } }),
    );
    break;
  }
}
