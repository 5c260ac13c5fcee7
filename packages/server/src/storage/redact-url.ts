/**
 * A connection URL (database, Redis) as logs may show it: with its password replaced by `***`. One that does not parse
 * is not shown at all (a password could be anywhere in it); `what` names it in the placeholder.
 */
export function redactUrl(url: string, what: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return `(unparseable ${what} URL)`;
  }
}
