import { BudgetStatusDocument, CompleteDocument, CreateBudgetDocument, type CreateBudgetMutationVariables } from '../generated/graphql';
import { simulatedOpenAIPromptTokens } from '../fixtures/provider-simulator';
import type { SettleHooks } from '../../src/completions/settle-hooks';
import type { AuthInfo } from '../../src/auth/auth.types';
import type { CompletionRequest } from '../../src/completions/completion.validation';
import { ApiKeyRole } from '../../src/common/enums';
import { parseUnits } from '../../src/common/money';
import { ok, type TestServer } from './server';

/** The prompt of the `complete` suites. */
export const MESSAGES = [{ role: 'user', content: 'Summarise the quarterly report in one line.' }];
export const GPT4O_PROMPT_TOKENS = simulatedOpenAIPromptTokens('gpt-4o', MESSAGES);
/**
 * gpt-4o at $2.50 / $10.00 per 1M, 20 output tokens (maxTokens = the simulator's reply length), in
 * 1e-12 USD: what one `complete` of MESSAGES costs, and its estimate (OpenAI's tokenizer is exact).
 */
export const GPT4O_COST = BigInt(GPT4O_PROMPT_TOKENS) * 2_500_000n + 20n * 10_000_000n;

/** Settle hooks that do nothing, for a CompletionService built by hand. */
export const NO_SETTLE_HOOKS: SettleHooks = {
  raiseThresholdAlerts: async () => [],
  thresholdsDue: () => false,
  publishRaised: async () => undefined,
  checkSpikes: async () => undefined,
};

/** A USD amount in 1e-12 USD units (what the ledger counts in). */
export const units = (usd: number) => parseUnits(String(usd));

/** The environment's admin key, as a CompletionService called by hand sees its caller. */
export const ADMIN_AUTH: AuthInfo = {
  keyId: 'env-admin',
  name: 'ADMIN_API_KEY',
  role: ApiKeyRole.ADMIN,
  userId: null,
  projectId: null,
  service: null,
};

/** A CompletionService's input: gpt-4o with MESSAGES and maxTokens 20, no scope, unless `patch` says otherwise. */
export const completionRequest = (patch: Partial<CompletionRequest> = {}): CompletionRequest => ({
  messages: MESSAGES as CompletionRequest['messages'],
  provider: 'openai',
  model: 'gpt-4o',
  userId: null,
  projectId: null,
  service: null,
  endpoint: null,
  maxTokens: 20,
  temperature: null,
  idempotencyKey: null,
  ...patch,
});

type BudgetInput = CreateBudgetMutationVariables['input'];

/** A budget's fields for falling back to `fallbackModel` of `fallbackProvider`. */
export const fallbackTo = (fallbackProvider: string, fallbackModel: string) => ({ enableFallback: true, fallbackProvider, fallbackModel });

/** Helpers of the `complete` suites over the server `server()` returns (started in beforeAll). */
export function completionHelpers(server: () => TestServer) {
  let seq = 0;
  const uniq = (p: string) => `${p}-${++seq}-${Date.now()}`;
  /** A DAILY COST budget of $100 named uniquely, unless `input` says otherwise. */
  const budget = async (input: Partial<BudgetInput> & Pick<BudgetInput, 'budgetType'>) =>
    ok(
      await server().gql(CreateBudgetDocument, {
        input: { budgetName: uniq('b'), limitType: 'COST', limitPeriod: 'DAILY', limitValue: 100, ...input } as BudgetInput,
      }),
    ).createBudget;
  return {
    uniq,
    budget,
    /** A hard USER budget of `user`: `budget` with hardLimitEnabled. */
    hardUserBudget: (user: string, input: Partial<BudgetInput> = {}) =>
      budget({ budgetType: 'USER', userId: user, hardLimitEnabled: true, ...input }),
    /** A fresh user whose USER budget blocks `blockedModel` and falls back to `fallbackModel` of `fallbackProvider`. */
    userWithFallback: async (blockedModel: string, fallbackProvider: string, fallbackModel: string) => {
      const user = uniq('u');
      await budget({ budgetType: 'USER', userId: user, blockedModels: [blockedModel], ...fallbackTo(fallbackProvider, fallbackModel) });
      return user;
    },
    /** gpt-4o with MESSAGES and maxTokens 20, unless `input` says otherwise. */
    complete: (input: Record<string, unknown>, key?: string) =>
      server().gql(
        CompleteDocument,
        { input: { messages: MESSAGES, provider: 'openai', model: 'gpt-4o', maxTokens: 20, ...input } as never },
        key,
      ),
    status: async (id: string) => ok(await server().gql(BudgetStatusDocument, { id })).budget!.status,
  };
}
