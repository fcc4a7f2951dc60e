import { ADMIN_KEY, ok } from '../../utils/server';
import { useTestServer } from '../../utils/fixture';

/**
 * Inputs at the edges that used to answer 5xx or be silently reinterpreted:
 * control characters in filters, dates outside four-digit years or not in the
 * calendar, amounts below the smallest unit, recipients that are not one plain
 * address. Each answers BAD_USER_INPUT naming the field (or is clamped).
 */
const s = useTestServer({ SMTP_URL: 'smtp://127.0.0.1:9', SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/hook' });

async function rest(
  path: string,
): Promise<{ status: number; body: { error?: { code: string; field?: string; message: string } } & Record<string, unknown> }> {
  const res = await fetch(`${s.app.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  return { status: res.status, body: (await res.json()) as never };
}

const badInput = (r: { errors?: { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions;

describe('control characters in string filters and arguments', () => {
  const NUL = 'a\u0000b';
  it.each([
    ['usageRecords(filter: {userId})', '{ usageRecords(filter: { userId: $v }) { id } }', 'filter.userId'],
    ['usageRecords(filter: {service})', '{ usageRecords(filter: { service: $v }) { id } }', 'filter.service'],
    ['usage(filter: {model})', '{ usage(groupBy: DAY, filter: { model: $v }) { period } }', 'filter.model'],
    ['usage(filter: {projectId})', '{ usage(groupBy: MODEL, filter: { projectId: $v }) { period } }', 'filter.projectId'],
    ['providerBreakdown(filter: {provider})', '{ providerBreakdown(filter: { provider: $v }) { period } }', 'filter.provider'],
    ['budgets(userId)', '{ budgets(userId: $v) { id } }', 'userId'],
    ['budgets(projectId)', '{ budgets(projectId: $v) { id } }', 'projectId'],
    ['estimateCost(model)', '{ estimateCost(provider: "openai", model: $v, inputTokens: 1, outputTokens: 1) { totalCost } }', 'model'],
    [
      'setModelPrice(model)',
      'mutation { setModelPrice(input: { provider: "openai", model: $v, inputPerMillion: 1, outputPerMillion: 1 }) { model } }',
      'model',
    ],
    ['createApiKey(name)', 'mutation { createApiKey(name: $v, role: ADMIN) { secret } }', 'name'],
    ['createApiKey(userId)', 'mutation { createApiKey(name: "k", role: VIEWER, userId: $v) { secret } }', 'userId'],
  ])('%s with a NUL is BAD_USER_INPUT naming the field, not SERVICE_UNAVAILABLE', async (_name, body, field) => {
    const op = body.startsWith('mutation') ? body.replace('mutation {', 'mutation($v: String!) {') : `query($v: String!) ${body}`;
    const r = await s.gql(op, { v: NUL });
    expect(badInput(r)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(r.errors?.[0].message).toMatch(/control characters/);
  });

  it('REST query and path parameters too', async () => {
    for (const path of ['/api/usage/breakdown?user_id=a%00b', '/api/usage/user/a%00b', '/api/usage/user/a%01b?period=daily']) {
      const r = await rest(path);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'user_id' });
    }
  });
});

describe('dates', () => {
  it('clamps a usage range beyond four-digit years instead of failing', async () => {
    const r = await s.gql('{ providerBreakdown(filter: { from: "0001-01-01T00:00:00Z", to: "9999-12-31T23:59:59Z" }) { period } }');
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ providerBreakdown: [] });
    const offset = await s.gql('{ usageRecords(filter: { from: "0001-01-01T00:00:00+01:00", to: "9999-12-31T23:59:59-01:00" }) { id } }');
    expect(offset.errors).toBeUndefined();
    const grouped = await s.gql(
      '{ usage(groupBy: PROVIDER, filter: { from: "0001-01-01T00:00:00Z", to: "9999-12-31T23:59:59Z" }) { period } }',
    );
    expect(grouped.errors).toBeUndefined();
  });

  it.each([
    '2026-02-30T00:00:00Z',
    '2025-02-29T12:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T12:60:00Z',
    '2026-01-01T12:00:60Z',
    '2026-13-01T00:00:00Z',
    '2026-01-01T00:00:00+24:00',
  ])('refuses the impossible DateTime %s, as a literal and as a variable', async (v) => {
    // A literal fails validation (graphql-js parses literals there), a variable fails as input: both say why.
    const literal = await s.gql(`{ usageRecords(filter: { from: "${v}" }) { id } }`);
    expect(literal.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(literal.errors?.[0].message).toContain(`${v} is not a real date`);
    const variable = await s.gql('query($from: DateTime) { usageRecords(filter: { from: $from }) { id } }', { from: v });
    expect(variable.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(variable.errors?.[0].message).toContain(`${v} is not a real date`);
  });

  it('still accepts real dates: a leap day and an offset', async () => {
    const r = await s.gql('{ usageRecords(filter: { from: "2024-02-29T23:30:00+05:30", to: "2024-03-01T00:00:00.123456Z" }) { id } }');
    expect(r.errors).toBeUndefined();
  });

  it('refuses an impossible REST start_date or end_date, date-only or with a time', async () => {
    for (const [param, v] of [
      ['start_date', '2026-02-30'],
      ['end_date', '2026-02-31'],
      ['start_date', '2026-02-30T00:00:00Z'],
      ['start_date', '2026-00-10'],
    ]) {
      const r = await rest(`/api/usage/user/alice?${param}=${v}`);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'BAD_USER_INPUT', field: param });
      expect(r.body.error?.message).toContain('not a real date');
    }
    expect((await rest('/api/usage/user/alice?start_date=2024-02-29&end_date=2024-03-01')).status).toBe(200);
  });
});

describe('amounts below the smallest unit (1e-12 USD)', () => {
  const budget = (extra: string) =>
    s.gql<{ createBudget: { id: string } }>(
      `mutation { createBudget(input: { budgetName: "tiny ${Math.random()}", budgetType: GLOBAL, limitType: COST, limitPeriod: MONTHLY, ${extra} }) { id limitValue maxCostPerRequest } }`,
    );

  it('refuses limitValue 1e-13 and 5e-13 with BAD_USER_INPUT, accepts 1e-12', async () => {
    for (const v of ['1e-13', '5e-13']) {
      const r = await budget(`limitValue: ${v}`);
      expect(badInput(r)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'limitValue' });
    }
    const okay = await budget('limitValue: 1e-12');
    expect(okay.errors).toBeUndefined();
    expect(okay.data).toMatchObject({ createBudget: { limitValue: 1e-12 } });
  });

  it('refuses maxCostPerRequest below the unit, on create and on update', async () => {
    expect(badInput(await budget('limitValue: 10, maxCostPerRequest: 1e-13'))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'maxCostPerRequest',
    });
    const { createBudget: b } = ok(await budget('limitValue: 10'));
    expect(badInput(await s.gql(`mutation { updateBudget(id: "${b.id}", input: { limitValue: 1e-13 }) { id } }`))).toMatchObject({
      field: 'limitValue',
    });
    expect(badInput(await s.gql(`mutation { updateBudget(id: "${b.id}", input: { maxCostPerRequest: 4e-13 }) { id } }`))).toMatchObject({
      field: 'maxCostPerRequest',
    });
  });

  it('refuses a price override finer than the catalog keeps instead of storing 0', async () => {
    const r = await s.gql(
      'mutation { setModelPrice(input: { provider: "openai", model: "tiny-model", inputPerMillion: 1e-13, outputPerMillion: 1 }) { inputPerMillion } }',
    );
    expect(badInput(r)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'inputPerMillion' });
    const prices = ok(await s.gql<{ modelPrices: { model: string }[] }>('{ modelPrices { model } }'));
    expect(prices.modelPrices.map((p) => p.model)).not.toContain('tiny-model');
  });
});

describe('alert recipients', () => {
  const create = (recipients: string[]) =>
    s.gql(
      'mutation($r: [String!]) { createBudget(input: { budgetName: $n, budgetType: GLOBAL, limitType: COST, limitPeriod: MONTHLY, limitValue: 1, alertChannels: [EMAIL, SLACK], alertRecipients: $r }) { alertRecipients } }'.replace(
        '$n',
        `"rcpt ${Math.random()}"`,
      ),
      { r: recipients },
    );

  it.each([
    'Display<attacker@evil.com>',
    'Display <attacker@evil.com>',
    '<attacker@evil.com>',
    'evil,ops@example.com',
    'ops@example.com,attacker@evil.com',
    'ops@example.com;attacker@evil.com',
    'group: attacker@evil.com;',
    'ops@example.com (attacker@evil.com)',
    '"a b"@example.com',
    'ops@[127.0.0.1]',
    'a@b@example.com',
    ' ops@example.com',
    'ops@localhost',
    'ops@-example.com',
    'ops..x@example.com',
    'ops',
  ])('refuses %j at create and update', async (bad) => {
    const r = await create(['#cost-alerts', bad]);
    expect(badInput(r)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'alertRecipients[1]' });
    const { createBudget } = ok(
      await s.gql<{ createBudget: { id: string } }>(
        `mutation { createBudget(input: { budgetName: "upd ${Math.random()}", budgetType: GLOBAL, limitType: COST, limitPeriod: MONTHLY, limitValue: 1 }) { id } }`,
      ),
    );
    const u = await s.gql('mutation($id: ID!, $r: [String!]) { updateBudget(id: $id, input: { alertRecipients: $r }) { id } }', {
      id: createBudget.id,
      r: [bad],
    });
    expect(badInput(u)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'alertRecipients[0]' });
  });

  it('accepts plain addresses and Slack targets', async () => {
    const good = ['ops@example.com', 'first.last+alerts@mail.example.co.uk', "o'brien@example.org", '#cost-alerts', '@alice'];
    expect(ok(await create(good))).toEqual({ createBudget: { alertRecipients: good } });
  });
});
