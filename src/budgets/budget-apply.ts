import type { EntityManager } from '@mikro-orm/postgresql';
import { AlertChannel, BudgetType, LimitPeriod, LimitType } from '../common/enums';
import { AppError, badInput } from '../common/errors';
import { parseUnits, unitsToNumber } from '../common/money';
import { Budget } from './budget.entity';
import type { CreateBudgetInput, UpdateBudgetInput } from './budget.input';
import type { BudgetService } from './budget.service';

/**
 * Declarative budgets: a file lists budgets (the fields of CreateBudgetInput, keyed by
 * `budgetName`) and `applyBudgets` makes the database match it. Budgets absent from the
 * file are left alone; fields absent from an entry keep their current value.
 */

type FieldKind = 'string' | 'number' | 'int' | 'boolean' | 'strings' | { enum: readonly string[] } | { enumList: readonly string[] };

/** Every field a budget entry may carry, with its type (the contract's CreateBudgetInput). */
const FIELDS: Record<keyof CreateBudgetInput, FieldKind> = {
  budgetName: 'string',
  budgetType: { enum: Object.values(BudgetType) },
  limitType: { enum: Object.values(LimitType) },
  limitPeriod: { enum: Object.values(LimitPeriod) },
  limitValue: 'number',
  userId: 'string',
  projectId: 'string',
  scopeId: 'string',
  warningThreshold: 'number',
  criticalThreshold: 'number',
  fallbackThreshold: 'number',
  enableFallback: 'boolean',
  fallbackProvider: 'string',
  fallbackModel: 'string',
  hardLimitEnabled: 'boolean',
  blockOnExceeded: 'boolean',
  isActive: 'boolean',
  isEnforced: 'boolean',
  allowedProviders: 'strings',
  blockedModels: 'strings',
  maxCostPerRequest: 'number',
  enableSpikeDetection: 'boolean',
  spikeThresholdMultiplier: 'number',
  spikeWindowHours: 'int',
  alertOnSpike: 'boolean',
  alertChannels: { enumList: Object.values(AlertChannel) },
  alertRecipients: 'strings',
};

const REQUIRED = ['budgetName', 'budgetType', 'limitType', 'limitPeriod', 'limitValue'] as const;
/** Fields where null means "none" (an explicit null clears them); elsewhere null means "not given". */
const NULLABLE = new Set<string>([
  'userId',
  'projectId',
  'scopeId',
  'fallbackProvider',
  'fallbackModel',
  'allowedProviders',
  'blockedModels',
  'maxCostPerRequest',
]);
/** Fields the API cannot change on an existing budget (UpdateBudgetInput lacks them). */
const IMMUTABLE = ['budgetType', 'limitType', 'limitPeriod', 'userId', 'projectId', 'scopeId'] as const;

/** One entry of a budgets file, checked for shape; the domain rules are BudgetService's. */
export type BudgetSpec = CreateBudgetInput;

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

/** What applying one entry does (or would do, in a dry run). */
export interface BudgetChange {
  name: string;
  action: 'create' | 'update' | 'unchanged';
  /** For updates: the fields that differ. For creates: every field given. */
  changes: FieldChange[];
  /** The budget's id (on a dry-run create, null). */
  id: string | null;
}

function checkKind(path: string, kind: FieldKind, v: unknown): void {
  const fail = (what: string) => {
    throw badInput(path, `must be ${what}; got ${JSON.stringify(v)}`);
  };
  if (kind === 'string') {
    if (typeof v !== 'string') fail('a string');
  } else if (kind === 'number') {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail('a number');
  } else if (kind === 'int') {
    if (!Number.isInteger(v)) fail('a whole number');
  } else if (kind === 'boolean') {
    if (typeof v !== 'boolean') fail('true or false');
  } else if (kind === 'strings') {
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) fail('a list of strings');
  } else if ('enum' in kind) {
    if (typeof v !== 'string' || !kind.enum.includes(v)) fail(`one of ${kind.enum.join(', ')}`);
  } else if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || !kind.enumList.includes(s))) {
    fail(`a list of ${kind.enumList.join(', ')}`);
  }
}

/**
 * Checks the shape of a parsed budgets file (a list of objects, or `{ budgets: [...] }`):
 * known fields with the right types, the required ones present, names unique. Throws
 * BAD_USER_INPUT with `field` set to the path, e.g. `budgets[2].limitValue`. Pure.
 */
export function parseBudgetSpecs(raw: unknown): BudgetSpec[] {
  const list =
    raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'budgets' in raw ? (raw as { budgets: unknown }).budgets : raw;
  if (!Array.isArray(list)) throw badInput('budgets', 'expected a list of budgets (or an object with a `budgets` list)');
  const seen = new Set<string>();
  return list.map((entry: unknown, i) => {
    const at = `budgets[${i}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw badInput(at, 'must be an object');
    const spec: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entry)) {
      const kind = (FIELDS as Record<string, FieldKind | undefined>)[k];
      if (!kind) throw badInput(`${at}.${k}`, `unknown field; known: ${Object.keys(FIELDS).join(', ')}`);
      if (v === null || v === undefined) {
        if (NULLABLE.has(k)) spec[k] = null;
        continue;
      }
      checkKind(`${at}.${k}`, kind, v);
      spec[k] = v;
    }
    for (const k of REQUIRED) if (spec[k] === undefined) throw badInput(`${at}.${k}`, 'is required');
    const name = (spec.budgetName as string).trim();
    if (seen.has(name)) throw badInput(`${at}.budgetName`, `"${name}" appears more than once`);
    seen.add(name);
    return { ...spec, budgetName: name } as BudgetSpec;
  });
}

/** A budget's field as the API shows it (amounts as numbers). */
function currentValue(b: Budget, field: keyof CreateBudgetInput): unknown {
  switch (field) {
    case 'budgetName':
      return b.name;
    case 'limitValue':
      return unitsToNumber(parseUnits(b.limitValue));
    case 'maxCostPerRequest':
      return b.maxCostPerRequest == null ? null : unitsToNumber(parseUnits(b.maxCostPerRequest));
    default:
      return (b as unknown as Record<string, unknown>)[field] ?? null;
  }
}

/** The service stores alert channels deduplicated; compare them the same way. */
function normalised(field: string, v: unknown): unknown {
  return field === 'alertChannels' && Array.isArray(v) ? [...new Set(v)] : v;
}

function diff(b: Budget, spec: BudgetSpec): FieldChange[] {
  const out: FieldChange[] = [];
  for (const [field, to] of Object.entries(spec)) {
    const from = currentValue(b, field as keyof CreateBudgetInput);
    if (JSON.stringify(from) !== JSON.stringify(normalised(field, to))) out.push({ field, from, to });
  }
  return out;
}

/** Re-throws a validation error with the entry and budget it came from, keeping `extensions.field`. */
function inEntry(e: unknown, index: number, name: string): unknown {
  if (!(e instanceof AppError) || e.code !== 'BAD_USER_INPUT') return e;
  const field = typeof e.extensions.field === 'string' ? e.extensions.field : undefined;
  return new AppError('BAD_USER_INPUT', `budgets[${index}] ("${name}"): ${e.message}`, {
    ...e.extensions,
    field,
    entry: index,
    budgetName: name,
  });
}

/** Thrown inside the transaction to roll a dry run back. */
class DryRun extends Error {}

/**
 * Makes the live (not deleted) budgets match `specs`, by name, in ONE transaction: creates the
 * missing ones, updates the given fields that differ, leaves identical ones alone (idempotent).
 * Every entry goes through BudgetService, so validation is the API's. Any invalid entry throws
 * BAD_USER_INPUT naming it and its field, and nothing is written. `dryRun` (@default false)
 * validates and reports the same plan, then rolls back.
 */
export async function applyBudgets(
  em: EntityManager,
  service: BudgetService,
  specs: readonly BudgetSpec[],
  opts: { dryRun?: boolean } = {},
): Promise<BudgetChange[]> {
  let plan: BudgetChange[] = [];
  try {
    await em.transactional(async (tem) => {
      plan = [];
      for (const [i, spec] of specs.entries()) {
        try {
          plan.push(await applyOne(tem, service, spec, Boolean(opts.dryRun)));
        } catch (e) {
          throw inEntry(e, i, spec.budgetName);
        }
      }
      if (opts.dryRun) throw new DryRun();
    });
    service.changed();
  } catch (e) {
    if (!(e instanceof DryRun)) throw e;
  }
  return plan;
}

async function applyOne(tem: EntityManager, service: BudgetService, spec: BudgetSpec, dryRun: boolean): Promise<BudgetChange> {
  const existing = await tem.findOne(Budget, { name: spec.budgetName, deletedAt: null });
  if (!existing) {
    const created = await service.create(tem, spec);
    const changes = Object.entries(spec).map(([field, to]) => ({ field, from: null, to }));
    return { name: spec.budgetName, action: 'create', changes, id: dryRun ? null : created.id };
  }
  const changes = diff(existing, spec);
  for (const c of changes) {
    if ((IMMUTABLE as readonly string[]).includes(c.field)) {
      throw badInput(
        c.field,
        `cannot be changed on an existing budget (${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}); delete the budget and apply again`,
      );
    }
  }
  if (!changes.length) return { name: spec.budgetName, action: 'unchanged', changes, id: existing.id };
  const input: UpdateBudgetInput = Object.fromEntries(changes.map((c) => [c.field, c.to]));
  await service.update(tem, existing.id, input);
  return { name: spec.budgetName, action: 'update', changes, id: existing.id };
}

/** The plan as lines for a terminal: `+ create`, `~ update` with `field: from → to`, `= unchanged`. */
export function formatPlan(plan: readonly BudgetChange[]): string[] {
  const fmt = (v: unknown) => JSON.stringify(v);
  const lines: string[] = [];
  for (const c of plan) {
    if (c.action === 'unchanged') {
      lines.push(`= ${c.name}: unchanged`);
      continue;
    }
    lines.push(`${c.action === 'create' ? '+' : '~'} ${c.name}: ${c.action}`);
    for (const f of c.changes) {
      if (f.field === 'budgetName') continue;
      lines.push(c.action === 'create' ? `    ${f.field}: ${fmt(f.to)}` : `    ${f.field}: ${fmt(f.from)} → ${fmt(f.to)}`);
    }
  }
  return lines;
}
