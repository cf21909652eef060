/**
 * Credentials in URLs (`nats://user:pass@host`, `nats://token@host`) must never reach a log line, an
 * error message, a metric label or CLI output: logs are shipped and kept far longer than secrets are
 * rotated. One function, applied wherever text that may hold a URL leaves the process.
 */

/** What stands in for a secret; Go's url.Redacted() writes `xxxxx`, this is as recognisable. */
export const REDACTED = '***';

// `scheme://userinfo@`: the userinfo cannot hold whitespace, `/` or `@` (RFC 3986 percent-encodes
// them), so the match cannot run past the authority into a path or a second URL of a comma list.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@]+)@/gi;

/**
 * Replaces the secret part of every URL userinfo in `text`: the password of `user:pass` (the user
 * name stays, as in Go's url.Redacted, so an operator can tell which account was used) and the whole
 * of a lone token.
 */
export function redactCredentials(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(USERINFO, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    const kept = colon === -1 ? REDACTED : `${userinfo.slice(0, colon)}:${REDACTED}`;
    return `${scheme}${kept}@`;
  });
}
