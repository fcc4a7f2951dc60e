/**
 * The building blocks of the configuration schema (config.ts). Each environment variable is one
 * `Var`: its name, its default and what it accepts. A schema is a tree of them shaped like the
 * configuration, so the configuration's type is inferred from it (`Infer`) and one walk reads it.
 */

/** Thrown for a bad environment variable; the message is the one line printed at start. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Env = Record<string, string | undefined>;

const INVALID = Symbol('invalid');
type Invalid = typeof INVALID;

interface VarDefinition<T> {
  name: string;
  /** The value when unset; undefined for a variable without a default. */
  fallback: T;
  /** What a set value must be, as it ends the error line: "expected <accepts>". */
  accepts: string;
  /** The value of a set variable, or INVALID. */
  parse: (raw: string) => T | Invalid;
  /** A secret is never echoed in the error line. @default false */
  secret?: boolean;
}

/** One environment variable. Unset or blank (after trimming) means its default. */
export class Var<T> {
  readonly name: string;
  readonly fallback: T;
  readonly accepts: string;
  private readonly parse: (raw: string) => T | Invalid;
  private readonly secret: boolean;

  constructor(definition: VarDefinition<T>) {
    this.name = definition.name;
    this.fallback = definition.fallback;
    this.accepts = definition.accepts;
    this.parse = definition.parse;
    this.secret = definition.secret ?? false;
  }

  read(env: Env): T {
    const raw = env[this.name]?.trim();
    if (raw === undefined || raw === '') return this.fallback;
    const value = this.parse(raw);
    if (value === INVALID) throw new ConfigError(`${this.secret ? this.name : `${this.name}=${raw}`} is invalid: expected ${this.accepts}`);
    return value;
  }
}

type ValuesOf<V extends readonly Var<unknown>[]> = { [K in keyof V]: V[K] extends Var<infer T> ? T : never };

/** A setting computed from variables (which are read, and listed, like any other). */
export class Derived<T> {
  constructor(
    readonly inputs: readonly Var<unknown>[],
    private readonly combine: (...values: unknown[]) => T,
  ) {}

  read(env: Env): T {
    return this.combine(...this.inputs.map((v) => v.read(env)));
  }
}

export function derive<const V extends readonly Var<unknown>[], T>(inputs: V, combine: (...values: ValuesOf<V>) => T): Derived<T> {
  return new Derived(inputs, combine as (...values: unknown[]) => T);
}

/** A setting no variable changes. */
export const fixed = <T>(value: T): Derived<T> => new Derived([], () => value);

export interface Schema {
  readonly [key: string]: Var<unknown> | Derived<unknown> | Schema;
}

/** The configuration a schema reads into. */
export type Infer<S> = S extends Var<infer T> ? T : S extends Derived<infer T> ? T : { -readonly [K in keyof S]: Infer<S[K]> };

/** Reads every variable of the schema, in its order; the first bad one throws ConfigError. */
export function readSchema<S extends Schema>(schema: S, env: Env): Infer<S> {
  const node = (n: Schema[string]): unknown => (n instanceof Var || n instanceof Derived ? n.read(env) : readSchema(n, env));
  return Object.fromEntries(Object.entries(schema).map(([key, n]) => [key, node(n)])) as Infer<S>;
}

/** Every variable the schema reads, once each, in its order. */
export function variablesOf(schema: Schema): Var<unknown>[] {
  const found = new Map<string, Var<unknown>>();
  const visit = (n: Schema[string]): void => {
    if (n instanceof Var) found.set(n.name, n);
    else if (n instanceof Derived) n.inputs.forEach(visit);
    else Object.values(n).forEach(visit);
  };
  visit(schema);
  return [...found.values()];
}

// --- The kinds of variable -------------------------------------------------------------------

export function str(name: string, fallback: string): Var<string>;
export function str(name: string): Var<string | undefined>;
export function str(name: string, fallback?: string): Var<string | undefined> {
  return new Var({ name, fallback, accepts: 'a value', parse: (raw) => raw });
}

/** A string that must match `pattern` (tested on the trimmed value). */
export function matching(name: string, fallback: string, pattern: RegExp, accepts: string): Var<string> {
  return new Var({ name, fallback, accepts, parse: (raw) => (pattern.test(raw) ? raw : INVALID) });
}

/** An optional secret of at least `minLength` characters; never echoed. */
export function secret(name: string, minLength: number): Var<string | undefined> {
  return new Var<string | undefined>({
    name,
    fallback: undefined,
    accepts: `at least ${minLength} characters`,
    parse: (raw) => (raw.length >= minLength ? raw : INVALID),
    secret: true,
  });
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

export function bool(name: string, fallback: boolean): Var<boolean>;
export function bool(name: string): Var<boolean | undefined>;
export function bool(name: string, fallback?: boolean): Var<boolean | undefined> {
  return new Var({
    name,
    fallback,
    accepts: 'true or false',
    parse: (raw) => {
      const lower = raw.toLowerCase();
      return TRUE.includes(lower) ? true : FALSE.includes(lower) ? false : INVALID;
    },
  });
}

/** A whole number from min to max inclusive. */
export function int(name: string, fallback: number, min: number, max: number): Var<number> {
  return new Var({
    name,
    fallback,
    accepts: `a whole number from ${min} to ${max}`,
    parse: (raw) => {
      const n = Number(raw);
      return /^-?\d+$/.test(raw) && n >= min && n <= max ? n : INVALID;
    },
  });
}

/** A finite number greater than `minExclusive`. */
export function num(name: string, fallback: number, minExclusive: number): Var<number> {
  return new Var({
    name,
    fallback,
    accepts: `a number greater than ${minExclusive}`,
    parse: (raw) => {
      const n = Number(raw);
      return Number.isFinite(n) && n > minExclusive ? n : INVALID;
    },
  });
}

/** A number from 0 to 1 inclusive. */
export function fraction(name: string, fallback: number): Var<number> {
  return new Var({
    name,
    fallback,
    accepts: 'a number from 0 to 1',
    parse: (raw) => {
      const n = Number(raw);
      return Number.isFinite(n) && n >= 0 && n <= 1 ? n : INVALID;
    },
  });
}

/** `raw` when it is a URL with one of `protocols`, trailing slashes removed; else undefined. */
function asUrl(raw: string, protocols: readonly string[]): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return undefined;
  }
  return protocols.includes(u.protocol.replace(/:$/, '')) ? raw.replace(/\/+$/, '') : undefined;
}

const urlAccepts = (protocols: readonly string[]) => `a URL (${protocols.join(', ')})`;

/** A URL with one of `protocols`, trailing slashes removed. */
export function url(name: string, protocols: readonly string[], fallback: string): Var<string>;
export function url(name: string, protocols: readonly string[]): Var<string | undefined>;
export function url(name: string, protocols: readonly string[], fallback?: string): Var<string | undefined> {
  return new Var({ name, fallback, accepts: urlAccepts(protocols), parse: (raw) => asUrl(raw, protocols) ?? INVALID });
}

/** An optional URL with one of `protocols`, or one of the `literals` as written. */
export function urlOr(name: string, protocols: readonly string[], literals: readonly string[]): Var<string | undefined> {
  return new Var<string | undefined>({
    name,
    fallback: undefined,
    accepts: urlAccepts(protocols),
    parse: (raw) => (literals.includes(raw) ? raw : (asUrl(raw, protocols) ?? INVALID)),
  });
}

export function oneOf<const T extends string>(name: string, values: readonly T[], fallback: T): Var<T> {
  return new Var({
    name,
    fallback,
    accepts: `one of ${values.join(', ')}`,
    parse: (raw) => ((values as readonly string[]).includes(raw) ? (raw as T) : INVALID),
  });
}
