/**
 * The `exp` claim of a JWT, read without verifying anything: the API server verifies the token; this only
 * keeps a cached "yes" from outliving the token itself.
 */

/** Milliseconds since the epoch at which the token expires, or undefined if it is not a JWT with `exp`. */
export function jwtExpiryMs(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof payload !== 'object' || payload === null) return undefined;
    const exp = (payload as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
