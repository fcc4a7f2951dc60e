import {
  GraphQLError,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  NoSchemaIntrospectionCustomRule,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  parse,
  specifiedRules,
  validate,
  valueFromASTUntyped,
  type DocumentNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from 'graphql';
import type { GraphQLLimits } from '../config/config';

/** Which limit an operation broke; sent as `extensions.limit` where the transport keeps extensions. */
export type LimitKind = 'depth' | 'aliases' | 'cost' | 'directives';

/** The argument that bounds a list field's length (the contract's paging argument). */
const PAGE_ARG = 'first';

class LimitExceeded extends Error {
  constructor(
    readonly kind: LimitKind,
    readonly max: number,
  ) {
    super(kind);
  }
}

export interface OperationFigures {
  depth: number;
  aliases: number;
  cost: number;
}

function limitError(kind: LimitKind, max: number, node: OperationDefinitionNode): GraphQLError {
  const what: Record<LimitKind, string> = {
    depth: `nests fields deeper than the limit of ${max}`,
    aliases: `uses more than ${max} aliases`,
    cost: `has an estimated cost above the limit of ${max}`,
    directives: `uses more than ${max} directives`,
  };
  const name = node.name ? ` ${node.name.value}` : '';
  return new GraphQLError(`The operation${name} ${what[kind]}`, { nodes: [node], extensions: { limit: kind, max } });
}

/**
 * The definition of field `name` of `parent`, the introspection fields
 * included: `__schema` and `__type` are not among the root type's own fields,
 * and must cost like any other (`__Schema.types`, `__Type.fields` are lists).
 */
function fieldDef(schema: GraphQLSchema, parent: GraphQLNamedType | undefined, name: string): GraphQLField<unknown, unknown> | undefined {
  if (parent && parent === schema.getQueryType()) {
    if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  }
  return parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[name] : undefined;
}

/**
 * Walks one operation with its fragments expanded and measures depth, aliases and
 * cost, throwing `LimitExceeded` as soon as one passes its limit. Cost: every field
 * occurrence costs 1 times the product of the list sizes above it; a list's size is
 * its `first` argument (a variable counts as its default, else the argument's
 * default), else `listCostFactor`. Since every visited field adds at least 1, the
 * walk stops after at most `maxCost + 1` fields, so fragment bombs cannot make it
 * expensive; fragment cycles are cut (graphql-js reports them). Introspection
 * (`__schema`, `__type` and everything under them) counts like any other
 * selection: its own switch decides whether it runs at all, these limits how
 * much of it one operation may ask.
 */
export function measureOperation(
  schema: GraphQLSchema,
  op: OperationDefinitionNode,
  getFragment: (name: string) => { typeCondition: { name: { value: string } }; selectionSet: SelectionSetNode } | null | undefined,
  limits: Pick<GraphQLLimits, 'maxDepth' | 'maxAliases' | 'maxCost' | 'listCostFactor'>,
): OperationFigures {
  const figures: OperationFigures = { depth: 0, aliases: 0, cost: 0 };
  const variableDefaults = new Map<string, unknown>();
  for (const v of op.variableDefinitions ?? []) {
    if (v.defaultValue) variableDefaults.set(v.variable.name.value, valueFromASTUntyped(v.defaultValue));
  }
  const root = schema.getRootType(op.operation);
  if (!root) return figures;

  const listSize = (field: { arguments?: readonly { name: { value: string }; value: ValueNode }[] }, argDefault: unknown): number => {
    const arg = field.arguments?.find((a) => a.name.value === PAGE_ARG);
    let n: unknown = argDefault;
    if (arg)
      n = arg.value.kind === Kind.VARIABLE ? (variableDefaults.get(arg.value.name.value) ?? argDefault) : valueFromASTUntyped(arg.value);
    return typeof n === 'number' && Number.isFinite(n) ? Math.max(1, Math.floor(n)) : limits.listCostFactor;
  };

  const walk = (
    set: SelectionSetNode,
    parent: GraphQLNamedType | undefined,
    depth: number,
    multiplier: number,
    path: Set<string>,
  ): void => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        figures.cost += multiplier;
        if (figures.cost > limits.maxCost) throw new LimitExceeded('cost', limits.maxCost);
        if (sel.alias) {
          figures.aliases += 1;
          if (figures.aliases > limits.maxAliases) throw new LimitExceeded('aliases', limits.maxAliases);
        }
        figures.depth = Math.max(figures.depth, depth);
        if (depth > limits.maxDepth) throw new LimitExceeded('depth', limits.maxDepth);
        if (!sel.selectionSet) continue;
        const def = fieldDef(schema, parent, name);
        const isList = def ? isListType(getNullableType(def.type)) : false;
        const size = isList ? listSize(sel, def?.args.find((a) => a.name === PAGE_ARG)?.defaultValue) : 1;
        walk(sel.selectionSet, def ? getNamedType(def.type) : undefined, depth + 1, multiplier * size, path);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        walk(sel.selectionSet, sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent, depth, multiplier, path);
      } else {
        const name = sel.name.value;
        const frag = getFragment(name);
        if (!frag || path.has(name)) continue;
        path.add(name);
        walk(frag.selectionSet, schema.getType(frag.typeCondition.name.value), depth, multiplier, path);
        path.delete(name);
      }
    }
  };
  walk(op.selectionSet, root, 1, 1, new Set());
  return figures;
}

/** A validation rule enforcing `maxDepth`, `maxAliases` and `maxCost` on every operation of a document. */
export function operationLimitsRule(limits: GraphQLLimits): ValidationRule {
  return (context: ValidationContext) => ({
    OperationDefinition(op) {
      try {
        measureOperation(context.getSchema(), op, (n) => context.getFragment(n), limits);
      } catch (e) {
        if (!(e instanceof LimitExceeded)) throw e;
        context.reportError(limitError(e.kind, e.max, op));
      }
      return false; // nothing below needs this rule's visitor
    },
  });
}

/** A validation rule bounding the directives of a document (each costs work in every rule that walks them). */
export function directiveLimitRule(limits: Pick<GraphQLLimits, 'maxDirectives'>): ValidationRule {
  return (context: ValidationContext) => {
    let count = 0;
    let reported = false;
    return {
      Directive(node) {
        count += 1;
        if (count > limits.maxDirectives && !reported) {
          reported = true;
          context.reportError(
            new GraphQLError(`The operation uses more than ${limits.maxDirectives} directives`, {
              nodes: [node],
              extensions: { limit: 'directives', max: limits.maxDirectives },
            }),
          );
        }
      },
    };
  };
}

/** The extra validation rules every transport applies; add `NoSchemaIntrospectionCustomRule` when introspection is off. */
export function limitRules(limits: GraphQLLimits, introspection: boolean): ValidationRule[] {
  return [operationLimitsRule(limits), directiveLimitRule(limits), ...(introspection ? [] : [NoSchemaIntrospectionCustomRule])];
}

/** Parses with the token limit: a document over `maxTokens` fails fast with a syntax error. */
export function parseLimited(source: string, limits: Pick<GraphQLLimits, 'maxTokens'>): DocumentNode {
  return parse(source, { maxTokens: limits.maxTokens });
}

/** graphql-js validation with the standard rules plus `limitRules` (for transports other than Apollo). */
export function validateLimited(
  schema: GraphQLSchema,
  document: DocumentNode,
  limits: GraphQLLimits,
  introspection: boolean,
): readonly GraphQLError[] {
  return validate(schema, document, [...specifiedRules, ...limitRules(limits, introspection)]);
}
