import { CreateApiKeyDocument, CreateBudgetDocument, ListBudgetsDocument } from '../../generated/graphql';
import { useTestServer } from '../../utils/fixture';
import { ADMIN_KEY, capturingLogger, ok } from '../../utils/server';
import { connectWs } from '../../utils/ws';

const PROVIDER_SECRETS = {
  OPENAI_API_KEY: 'sk-secret-openai-0123456789abcdefghij',
  ANTHROPIC_API_KEY: 'sk-ant-secret-0123456789abcdefghij',
  DEEPSEEK_API_KEY: 'sk-secret-deepseek-0123456789abcdef',
  ALERT_WEBHOOK_SECRET: 'whsec-secret-0123456789abcdefghij',
  PAGERDUTY_ROUTING_KEY: 'pd-routing-secret-0123456789abcd',
};

// trace: everything the server would ever log goes into the capture.
const { log, lines: logLines } = capturingLogger('trace');
const s = useTestServer({ ...PROVIDER_SECRETS, LOG_LEVEL: 'trace' }, { log });
const responses: string[] = [];

async function record(p: Promise<unknown>): Promise<unknown> {
  const r = await p;
  responses.push(JSON.stringify(r));
  return r;
}

describe('secrets stay out of logs and responses', () => {
  it('masks an unexpected error, logging it with the request id', async () => {
    const spy = jest
      .spyOn(s.app.services.budgets, 'list')
      .mockRejectedValueOnce(new Error(`driver exploded near ${ADMIN_KEY.slice(0, 4)}… internal detail`));
    const res = await fetch(`${s.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}`, 'x-request-id': 'req-masked-1' },
      body: JSON.stringify({ query: '{ budgets { id } }' }),
    });
    spy.mockRestore();
    const body = (await res.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    responses.push(JSON.stringify(body));
    expect(body.errors[0].extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: 'req-masked-1' });
    expect(body.errors[0].message).not.toContain('internal detail');
    const logged = logLines
      .map((l) => JSON.parse(l) as { requestId?: string; err?: { message?: string } })
      .find((l) => l.requestId === 'req-masked-1');
    expect(logged?.err?.message).toContain('internal detail');
  });

  it('never writes ADMIN_API_KEY, provider keys or issued secrets to logs, nor provider keys to responses', async () => {
    const issued = await s.gql(CreateApiKeyDocument, { name: 'leak check', role: 'VIEWER', userId: 'alice' });
    responses.push(JSON.stringify(issued));
    const secret = ok(issued).createApiKey.secret;
    await record(s.gql(ListBudgetsDocument, {}, secret));
    await record(s.gql(ListBudgetsDocument, {}, `${secret.slice(0, -1)}X`));
    await record(s.gql(ListBudgetsDocument, {}, 'sk-secret-openai-0123456789abcdefghij'));
    await record(
      s.gql(CreateBudgetDocument, {
        input: { budgetName: '', budgetType: 'GLOBAL', limitType: 'COST', limitPeriod: 'DAILY', limitValue: -1 },
      }),
    );
    await record(
      s.gql(CreateBudgetDocument, {
        input: { budgetName: 'ok', budgetType: 'GLOBAL', limitType: 'COST', limitPeriod: 'DAILY', limitValue: 1 },
      }),
    );
    await record(s.gql('{ budgets { nope } }'));
    await record(s.gql('mutation { createApiKey(name: "x", role: VIEWER) { secret } }', {}, secret));
    const c = connectWs(s.app.url, `${ADMIN_KEY}-wrong`);
    await c.closed;
    await c.client.dispose();
    await s.app.services.apiKeys.stop(); // flush lastUsedAt: its write is logged at trace too

    const logs = logLines.join('\n');
    expect(logLines.length).toBeGreaterThan(0);
    for (const [name, value] of Object.entries({ ...PROVIDER_SECRETS, ADMIN_API_KEY: ADMIN_KEY, issued: secret })) {
      expect({ name, inLogs: logs.includes(value) }).toEqual({ name, inLogs: false });
    }
    // An issued secret is shown once, in createApiKey's answer; nothing else may carry any secret.
    const others = responses.filter((r) => !r.includes('"createApiKey"')).join('\n');
    for (const [name, value] of Object.entries({ ...PROVIDER_SECRETS, ADMIN_API_KEY: ADMIN_KEY, issued: secret })) {
      expect({ name, inResponses: others.includes(value) }).toEqual({ name, inResponses: false });
    }
  });
});
