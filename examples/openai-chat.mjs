// A plain OpenAI SDK program: nothing in it knows about the gateway. Pointed at OpenAI it
// chats with OpenAI; pointed at the gateway (only the base URL and the key change) every call
// runs under the organisation's budgets:
//
//   OPENAI_BASE_URL=http://127.0.0.1:4000/v1 OPENAI_API_KEY=<gateway key> node examples/openai-chat.mjs
//
// It asks QUESTIONS questions (default 3), streaming every second answer, and prints one JSON
// line per call: the model that answered (a fallback shows up here), the usage, the exact cost
// when the server reports one (`x-budget-cost`; the stream's `usage.cost`), or the error a
// budget refused it with (HTTP 402, not retried by the SDK).
import OpenAI from 'openai';

const client = new OpenAI(); // OPENAI_BASE_URL and OPENAI_API_KEY from the environment
const model = process.env.MODEL ?? 'gpt-4o';
const questions = Number(process.env.QUESTIONS ?? 3);
const user = process.env.USER_ID ?? 'example-user';
const messages = [{ role: 'user', content: 'Summarise the quarterly report in one line.' }];

for (let call = 1; call <= questions; call++) {
  try {
    if (call % 2 === 0) {
      const stream = await client.chat.completions.create({
        model,
        messages,
        max_tokens: 20,
        user,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let served = null;
      let usage = null;
      for await (const chunk of stream) {
        served = chunk.model;
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      console.log(JSON.stringify({ call, stream: true, model: served, text, usage, cost: usage?.cost ?? null }));
    } else {
      const { data, response } = await client.chat.completions.create({ model, messages, max_tokens: 20, user }).withResponse();
      console.log(
        JSON.stringify({
          call,
          stream: false,
          model: data.model,
          text: data.choices[0].message.content,
          usage: data.usage,
          cost: response.headers.get('x-budget-cost'),
        }),
      );
    }
  } catch (e) {
    if (!(e instanceof OpenAI.APIError)) throw e;
    console.log(JSON.stringify({ call, error: { status: e.status, code: e.code, message: e.message } }));
    break;
  }
}
