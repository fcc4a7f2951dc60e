import addressparser from 'nodemailer/lib/addressparser';

/** RFC 5321's limits: the whole path, the local part, one domain label. */
const MAX_ADDRESS = 254;
const MAX_LOCAL = 64;
const MAX_LABEL = 63;

/** RFC 5322 `atext`: letters, digits and these. */
const ATEXT_SYMBOLS = new Set("!#$%&'*+-/=?^_`{|}~");
const isAlnum = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
const isAtext = (c: string) => isAlnum(c) || ATEXT_SYMBOLS.has(c);

/** RFC 5322 `dot-atom-text`: atoms of `atext` joined by single dots. */
function isDotAtom(s: string, isChar: (c: string) => boolean): boolean {
  const parts = s.split('.');
  return parts.every((p) => p.length > 0 && [...p].every(isChar));
}

/** A host name of two or more LDH labels (RFC 1035/5321), none starting or ending with a hyphen. */
function isHostName(s: string): boolean {
  const labels = s.split('.');
  return (
    labels.length >= 2 &&
    isDotAtom(s, (c) => isAlnum(c) || c === '-') &&
    labels.every((l) => l.length <= MAX_LABEL && !l.startsWith('-') && !l.endsWith('-'))
  );
}

/**
 * The one plain address `recipient` is, or null. Accepted: exactly an
 * RFC 5322 addr-spec of the common form `local@host.name` (a dot-atom local
 * part, a host-name domain), nothing around it. Refused: display names
 * (`Name <a@b.c>`), lists (`a,b@c.d`, `a@b.c;d@e.f`), groups, comments,
 * quoted local parts and domain literals, whitespace, and anything nodemailer's
 * address parser would read as something other than that same single address.
 */
export function plainAddress(recipient: string): string | null {
  if (recipient.length > MAX_ADDRESS) return null;
  const at = recipient.lastIndexOf('@');
  if (at <= 0) return null;
  const local = recipient.slice(0, at);
  const domain = recipient.slice(at + 1);
  if (local.length > MAX_LOCAL || !isDotAtom(local, isAtext) || !isHostName(domain)) return null;
  // The mailer parses recipients its own way: it must see this one address and nothing else.
  const parsed = addressparser(recipient, { flatten: true });
  if (parsed.length !== 1 || parsed[0].name !== '' || parsed[0].address !== recipient) return null;
  return recipient;
}
