import { badInput } from './errors';

/** Control characters (C0 and DEL): never valid in ids, names or recipients. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The longest id-like string (user, project, service, provider, model, name) accepted anywhere. */
export const MAX_ID_LENGTH = 200;

/**
 * Why a short identifier-like string is unacceptable, or null when it is fine:
 * lone UTF-16 surrogates cannot be stored as UTF-8 by PostgreSQL, and control
 * characters (NUL above all, which the wire protocol cannot carry) have no
 * place in ids, names or recipients.
 */
export function textProblem(v: string): string | null {
  if (!v.isWellFormed()) return 'must be valid Unicode (no lone surrogates)';
  if (CONTROL.test(v)) return 'must not contain control characters';
  return null;
}

/**
 * An optional id-like input (a `complete` attribution, a filter argument):
 * null/undefined pass as null; otherwise 1..MAX_ID_LENGTH characters, not
 * blank, no control characters or lone surrogates — else BAD_USER_INPUT
 * naming `field`. Every string that reaches SQL goes through this or a
 * stricter check first.
 */
export function validId(field: string, v: string | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (v.trim() === '') throw badInput(field, 'must not be empty');
  if (v.length > MAX_ID_LENGTH) throw badInput(field, `must be at most ${MAX_ID_LENGTH} characters`);
  const problem = textProblem(v);
  if (problem) throw badInput(field, problem);
  return v;
}
