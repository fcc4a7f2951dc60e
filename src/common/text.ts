/** Control characters (C0 and DEL): never valid in ids, names or recipients. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Why a short identifier-like string is unacceptable, or null when it is fine:
 * lone UTF-16 surrogates cannot be stored as UTF-8 by PostgreSQL, and control
 * characters have no place in ids, names or recipients.
 */
export function textProblem(v: string): string | null {
  if (!v.isWellFormed()) return 'must be valid Unicode (no lone surrogates)';
  if (CONTROL.test(v)) return 'must not contain control characters';
  return null;
}
