/**
 * `npm run demo`: the gateway end to end on one machine, with no provider account.
 *
 * Starts the provider simulator (OpenAI and Anthropic wire formats on loopback) and the real
 * server on an in-memory embedded database, creates the layered budgets of
 * examples/budgets.yaml through GraphQL (with limits shrunk to cents so a few dozen requests
 * cross them), then sends gpt-4o traffic for user-123 / project-456 and narrates what the
 * gateway does: normal requests, threshold alerts, fallback to deepseek-chat, refusals.
 * Deterministic: the simulator's token counts are functions of the request.
 *
 * It prints the web console's address and the admin key; run in a terminal (stdout a TTY) it
 * keeps serving until Ctrl-C so a person can look around; otherwise (CI, a pipe) it exits.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { startApp, type RunningApp } from '../src/app';
import { createLogger } from '../src/common/logger';
import { loadConfig } from '../src/config/config';
import { startProviderSimulator, type ProviderSimulator } from '../test/fixtures/provider-simulator';

/** Requests sent; enough to go from normal through fallback to refusals with the limits below. */
const REQUESTS = 40;
/** Output tokens of every reply, and the cap sent: the gateway's estimate then equals the charge. */
const REPLY_TOKENS = 4_000;
const USER = 'user-123';
const PROJECT = 'project-456';
const PROMPT = 'Summarise the quarterly infrastructure costs in three bullet points.';

interface GqlError {
  message: string;
  extensions?: { code?: string };
}

class Client {
  constructor(
    private readonly url: string,
    private readonly key: string,
  ) {}

  async raw<T>(query: string, variables: Record<string, unknown> = {}): Promise<{ data: T | null; errors?: GqlError[] }> {
    const res = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.key}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as { data: T | null; errors?: GqlError[] };
  }

  async ok<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const r = await this.raw<T>(query, variables);
    if (r.errors?.length || !r.data) throw new Error(`GraphQL: ${JSON.stringify(r.errors)}`);
    return r.data;
  }
}

const usd = (n: number, digits = 4) => `$${n.toFixed(digits)}`;
const pct = (n: number) => `${n.toFixed(1).padStart(5)}%`;
const pad = (s: string, n: number) => s.padEnd(n);

const ESTIMATE = `query($provider: String!, $model: String!, $inputTokens: SafeInt!, $outputTokens: SafeInt!) {
  estimateCost(provider: $provider, model: $model, inputTokens: $inputTokens, outputTokens: $outputTokens) { totalCost } }`;
const CREATE = `mutation($input: CreateBudgetInput!) { createBudget(input: $input) { id name } }`;
const COMPLETE = `mutation($input: CompletionInput!) { complete(input: $input) {
  provider model fallbackUsed fallbackReason
  usage { inputTokens outputTokens totalCost }
  budgets { name status { usagePercentage state } } } }`;
const ALERTS = `query { alerts(first: 100) { id alertType severity message actionTaken budget { name } createdAt } }`;
const STATUS = `query { budgets { name budgetType limitPeriod limitValue
  status { used reserved remaining usagePercentage state } } }`;

interface Alert {
  id: string;
  alertType: string;
  severity: string;
  message: string;
  actionTaken: string | null;
  budget: { name: string } | null;
  createdAt: string;
}

async function run(api: Client): Promise<void> {
  // Limits in units of one request's cost, so the story holds whatever the seeded prices are.
  const cost = async (provider: string, model: string) =>
    (await api.ok<{ estimateCost: { totalCost: number } }>(ESTIMATE, { provider, model, inputTokens: 25, outputTokens: REPLY_TOKENS }))
      .estimateCost.totalCost;
  const gpt = await cost('openai', 'gpt-4o');
  const cheap = await cost('deepseek', 'deepseek-chat');
  const round = (n: number) => Number(n.toFixed(6));
  const budgets = [
    {
      budgetName: 'Global monthly',
      budgetType: 'GLOBAL',
      limitType: 'COST',
      limitPeriod: 'MONTHLY',
      limitValue: 10_000,
      warningThreshold: 0.8,
      criticalThreshold: 0.95,
    },
    {
      budgetName: `${USER} daily`,
      budgetType: 'USER',
      userId: USER,
      limitType: 'COST',
      limitPeriod: 'DAILY',
      limitValue: round(16 * gpt),
      warningThreshold: 0.5,
      criticalThreshold: 0.9,
      fallbackThreshold: 0.72,
      enableFallback: true,
      fallbackProvider: 'deepseek',
      fallbackModel: 'deepseek-chat',
    },
    {
      budgetName: `${PROJECT} weekly`,
      budgetType: 'PROJECT',
      projectId: PROJECT,
      limitType: 'COST',
      limitPeriod: 'WEEKLY',
      limitValue: round(11 * gpt + 18 * cheap),
      warningThreshold: 0.8,
      criticalThreshold: 0.95,
      hardLimitEnabled: true,
      blockOnExceeded: true,
    },
  ];

  console.log(
    `\n== Budgets (the layers of examples/budgets.yaml, limits shrunk for the demo; one gpt-4o request ≈ ${usd(gpt, 4)}, deepseek-chat ≈ ${usd(cheap, 4)})`,
  );
  for (const b of budgets) {
    await api.ok(CREATE, { input: b });
    const extra = [
      `warn ${b.warningThreshold * 100}%`,
      `critical ${b.criticalThreshold * 100}%`,
      ...('enableFallback' in b ? [`fallback to ${b.fallbackProvider}/${b.fallbackModel} from ${b.fallbackThreshold! * 100}%`] : []),
      ...('hardLimitEnabled' in b ? ['hard limit'] : []),
    ];
    console.log(
      `   ${pad(b.budgetName, 22)} ${pad(b.budgetType, 8)} ${pad(b.limitPeriod, 8)} ${pad(usd(b.limitValue), 14)} ${extra.join(', ')}`,
    );
  }

  console.log(`\n== Traffic: ${REQUESTS} requests for openai/gpt-4o from ${USER} in ${PROJECT}`);
  const seen = new Set<string>();
  const tally = { served: 0, fallback: 0, refused: 0, spent: 0 };
  for (let i = 1; i <= REQUESTS; i++) {
    const r = await api.raw<{
      complete: {
        provider: string;
        model: string;
        fallbackUsed: boolean;
        fallbackReason: string | null;
        usage: { inputTokens: number; outputTokens: number; totalCost: number };
        budgets: { name: string; status: { usagePercentage: number; state: string } }[];
      };
    }>(COMPLETE, {
      input: {
        provider: 'openai',
        model: 'gpt-4o',
        userId: USER,
        projectId: PROJECT,
        maxTokens: REPLY_TOKENS,
        messages: [{ role: 'user', content: PROMPT }],
      },
    });
    const n = `#${String(i).padStart(2, '0')}`;
    if (r.data?.complete) {
      const c = r.data.complete;
      tally.served++;
      tally.spent += c.usage.totalCost;
      const states = [...c.budgets]
        .sort((a, b) => a.name.localeCompare(b.name))
        .filter((b) => b.name !== 'Global monthly')
        .map((b) => `${b.name.split(' ')[0]} ${pct(b.status.usagePercentage)} ${b.status.state}`);
      console.log(
        `${n} ${c.fallbackUsed ? 'FALLBACK' : 'ok      '} ${pad(`${c.provider}/${c.model}`, 23)} ${c.usage.inputTokens}+${c.usage.outputTokens} tokens  ${usd(c.usage.totalCost)}  | ${states.join(' | ')}`,
      );
      if (c.fallbackUsed) {
        tally.fallback++;
        console.log(`      why: ${c.fallbackReason}`);
      }
    } else {
      tally.refused++;
      const e = r.errors?.[0];
      console.log(`${n} REFUSED  ${e?.extensions?.code ?? 'ERROR'}: ${e?.message}`);
    }
    // Alerts are raised in the same transaction that settles the request: new ones are visible now.
    const { alerts } = await api.ok<{ alerts: Alert[] }>(ALERTS);
    for (const a of [...alerts].reverse()) {
      if (seen.has(a.id)) continue;
      seen.add(a.id);
      console.log(`      ALERT ${a.alertType}/${a.severity} on '${a.budget?.name ?? '-'}': ${a.message}`);
    }
  }

  console.log(`\n== Summary: ${tally.served} served (${tally.fallback} by fallback), ${tally.refused} refused, ${usd(tally.spent)} spent`);
  const { budgets: status } = await api.ok<{
    budgets: {
      name: string;
      budgetType: string;
      limitPeriod: string;
      limitValue: number;
      status: { used: number; reserved: number; remaining: number; usagePercentage: number; state: string };
    }[];
  }>(STATUS);
  console.log(`   ${pad('budget', 22)} ${pad('limit', 14)} ${pad('used', 12)} ${pad('remaining', 14)} ${pad('usage', 7)} state`);
  for (const b of status) {
    const s = b.status;
    console.log(
      `   ${pad(b.name, 22)} ${pad(usd(b.limitValue), 14)} ${pad(usd(s.used), 12)} ${pad(usd(s.remaining), 14)} ${pct(s.usagePercentage)} ${s.state}`,
    );
  }
  const { alerts } = await api.ok<{ alerts: Alert[] }>(ALERTS);
  console.log(`\n== Alerts raised: ${alerts.length}`);
  for (const a of [...alerts].reverse())
    console.log(`   ${pad(`${a.alertType}/${a.severity}`, 18)} ${pad(a.budget?.name ?? '-', 22)} ${a.message}`);
  console.log('\nDone. Everything ran on loopback against the provider simulator; nothing is stored.');
}

async function main(): Promise<void> {
  let sim: ProviderSimulator | null = null;
  let app: RunningApp | null = null;
  try {
    sim = await startProviderSimulator({ apiKey: null, replyTokens: REPLY_TOKENS });
    const adminKey = `demo-${randomBytes(16).toString('hex')}`;
    const config = loadConfig({
      DATABASE_URL: 'memory://',
      PORT: process.env.PORT ?? '0',
      HOST: '127.0.0.1',
      ADMIN_API_KEY: adminKey,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      OPENAI_API_KEY: 'sk-demo',
      OPENAI_BASE_URL: `${sim.url}/v1`,
      ANTHROPIC_API_KEY: 'sk-demo',
      ANTHROPIC_BASE_URL: sim.url,
      DEEPSEEK_API_KEY: 'sk-demo',
      DEEPSEEK_BASE_URL: sim.url,
      OLLAMA_BASE_URL: sim.url,
      PROVIDER_MAX_RETRIES: '0',
      // The demo's traffic is a one-minute burst on budgets it has just created: project from it at once
      // (by default a budget is projected after a tenth of its period, docs/forecasts.md).
      BUDGET_FORECAST_MIN_ELAPSED: '0',
    });
    console.log('Starting the provider simulator and the gateway (embedded database in memory)…');
    app = await startApp(config, { log: createLogger(config.logLevel) });
    console.log(`Gateway on ${app.url}/graphql, providers simulated on ${sim.url}`);
    console.log(`Web console: ${app.url}/console  (sign in with the API key ${adminKey})`);
    await run(new Client(app.url, adminKey));
    if (process.stdout.isTTY) {
      console.log(`\nStill serving: open ${app.url}/console and paste the API key ${adminKey}\nCtrl-C to stop.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } finally {
    await app?.stop();
    await sim?.close();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error('demo failed:', e);
    process.exit(1);
  },
);
