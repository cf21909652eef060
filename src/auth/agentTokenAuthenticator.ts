/**
 * Service-account token authentication of agents, as the reference server's authenticateAgentViaToken and
 * validateAuthToken do it: one `authorization: Bearer <token>` value, a TokenReview with the configured
 * audience, and an authenticated user `system:serviceaccount:<namespace>:<service-account>`. Failure
 * reasons keep the reference's texts so log searches carry over.
 *
 * Two additions to the reference: when the review reports `status.audiences`, they must include ours (the
 * TokenReview API asks audience-aware clients to check this); and successes are cached briefly, because
 * the reference sends one review per agent connection and agents reconnect in herds after a server
 * restart. The caller must await authenticate() before it sends any header or packet on the stream.
 */
import type { Logger } from '../observability/logger';
import { systemAuthClock, type AuthClock } from './clock';
import { TokenReviewError } from './errors';
import { loadKubeClientConfig } from './inClusterConfig';
import { jwtExpiryMs } from './jwtExpiry';
import { ExpiringLruCache, tokenCacheKey } from './reviewCache';
import { createTokenReviewClient, type TokenReviewClient, type TokenReviewStatus } from './tokenReviewClient';

/** The reference's header.AuthenticationTokenContextKey, as gRPC metadata keys arrive: lower case. */
export const AUTHORIZATION_METADATA_KEY = 'authorization';
/** header.AuthenticationTokenContextSchemePrefix. */
export const BEARER_PREFIX = 'Bearer ';
/** Long enough to absorb a reconnect herd, short enough that a deleted service account stops working soon. */
export const AUTH_CACHE_TTL_MS = 60_000;
/** Far above the agents one server sees; a bound, not a sizing. */
export const AUTH_CACHE_MAX_ENTRIES = 1_000;

export const AGENT_AUTH_FAILURE_CODES = [
  'missing-token',
  'too-many-tokens',
  'no-bearer-prefix',
  'review-failed', // the TokenReview call itself failed (unreachable, throttled, HTTP error)
  'review-error', // the review answered with status.error
  'not-authenticated',
  'wrong-audience',
  'bad-username-format',
  'not-service-account',
  'wrong-namespace',
  'wrong-service-account',
  'aborted', // the caller's signal fired while waiting
  'closed',
] as const;

export type AgentAuthFailureCode = (typeof AGENT_AUTH_FAILURE_CODES)[number];

export type AgentAuthResult =
  | { readonly ok: true; readonly username: string }
  /** `code` labels metrics; `reason` is the log text; `cause` is the client error for 'review-failed'. */
  | {
      readonly ok: false;
      readonly code: AgentAuthFailureCode;
      readonly reason: string;
      readonly cause?: unknown;
    };

export interface AgentTokenAuthenticator {
  authenticate(
    metadata: Record<string, string[]>,
    options?: { signal?: AbortSignal },
  ): Promise<AgentAuthResult>;
  /** Stops reviews in flight and forgets the cache. Safe to call more than once. */
  close(): void;
}

export interface AgentTokenAuthenticatorOptions {
  /** --kubeconfig; empty means the in-cluster configuration, as in the reference. */
  readonly kubeconfigPath: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly audience: string;
  readonly qps: number;
  readonly burst: number;
  /** --kube-api-content-type. */
  readonly contentType?: string;
  readonly clock?: AuthClock;
  readonly logger?: Logger;
  readonly cacheTtlMs?: number;
  readonly cacheMaxEntries?: number;
  readonly timeoutMs?: number;
}

const VALIDATE = 'Failed to validate authentication token, err:';
const q = (s: string): string => JSON.stringify(s);

/** Loads the kubeconfig and builds the client now, so configuration errors surface at start-up. */
export function createAgentTokenAuthenticator(
  options: AgentTokenAuthenticatorOptions,
): AgentTokenAuthenticator {
  for (const [flag, value] of [
    ['agent-namespace', options.namespace],
    ['agent-service-account', options.serviceAccount],
    ['authentication-audience', options.audience],
  ] as const) {
    if (value === '')
      throw new TokenReviewError(
        'invalid-options',
        `--${flag} cannot be empty when agent authentication is enabled`,
      );
  }
  const { logger } = options;
  const clock = options.clock ?? systemAuthClock;
  const config = loadKubeClientConfig(options.kubeconfigPath, { warn: (m) => logger?.warn(m) });
  const client = createTokenReviewClient({
    config,
    qps: options.qps,
    burst: options.burst,
    contentType: options.contentType,
    timeoutMs: options.timeoutMs,
    clock,
    logger,
  });
  return createAuthenticatorWithClient(client, options, clock);
}

/** The authentication rules around any TokenReviewClient; exported for tests and for a shared client. */
export function createAuthenticatorWithClient(
  client: TokenReviewClient,
  options: Omit<AgentTokenAuthenticatorOptions, 'kubeconfigPath' | 'qps' | 'burst'>,
  clock: AuthClock = options.clock ?? systemAuthClock,
): AgentTokenAuthenticator {
  const { namespace, serviceAccount, audience, logger } = options;
  const ttlMs = options.cacheTtlMs ?? AUTH_CACHE_TTL_MS;
  const cache = new ExpiringLruCache<string>(options.cacheMaxEntries ?? AUTH_CACHE_MAX_ENTRIES, clock);
  const inFlight = new Map<string, Promise<AgentAuthResult>>();
  let closed = false;

  const judge = (status: TokenReviewStatus): AgentAuthResult => {
    const fail = (code: AgentAuthFailureCode, reason: string): AgentAuthResult => ({
      ok: false,
      code,
      reason: VALIDATE + reason,
    });
    if (typeof status.error === 'string' && status.error !== '')
      return fail('review-error', `lookup failed: ${status.error}`);
    if (status.authenticated !== true)
      return fail('not-authenticated', 'lookup failed: service account jwt not valid');
    const audiences = Array.isArray(status.audiences) ? status.audiences : [];
    if (audiences.length > 0 && !audiences.includes(audience)) {
      return fail(
        'wrong-audience',
        `lookup failed: token audiences ${JSON.stringify(audiences)} do not include ${q(audience)}`,
      );
    }
    const username = typeof status.user?.username === 'string' ? status.user.username : '';
    const parts = username.split(':');
    if (parts.length !== 4) return fail('bad-username-format', 'lookup failed: unexpected username format');
    const [system, kind, ns, sa] = parts as [string, string, string, string];
    if (system !== 'system' || kind !== 'serviceaccount')
      return fail('not-service-account', 'lookup failed: username returned is not a service account');
    if (ns !== namespace)
      return fail(
        'wrong-namespace',
        `lookup failed: incoming request from ${q(ns)} namespace. Expected ${q(namespace)}`,
      );
    if (sa !== serviceAccount)
      return fail(
        'wrong-service-account',
        `lookup failed: incoming request from ${q(sa)} service account. Expected ${q(serviceAccount)}`,
      );
    return { ok: true, username };
  };

  const review = async (key: string, token: string): Promise<AgentAuthResult> => {
    let status: TokenReviewStatus;
    try {
      // No caller signal: the review is shared, and one agent hanging up must not fail the others.
      status = await client.review(token, [audience]);
    } catch (err) {
      const code = err instanceof TokenReviewError && err.reason === 'closed' ? 'closed' : 'review-failed';
      const message = err instanceof Error ? err.message : String(err);
      return {
        ok: false,
        code,
        reason: `${VALIDATE}Failed to authenticate request. err:${message}`,
        cause: err,
      };
    }
    const result = judge(status);
    if (result.ok && !closed) {
      const exp = jwtExpiryMs(token);
      cache.set(key, result.username, Math.min(clock.now() + ttlMs, exp ?? Infinity));
    }
    return result;
  };

  const authenticate = async (
    metadata: Record<string, string[]>,
    { signal }: { signal?: AbortSignal } = {},
  ): Promise<AgentAuthResult> => {
    if (closed) return { ok: false, code: 'closed', reason: 'the agent authenticator is closed' };
    const values = authorizationValues(metadata);
    if (values.length === 0)
      return { ok: false, code: 'missing-token', reason: 'Authentication context was not found in metadata' };
    if (values.length > 1)
      return {
        ok: false,
        code: 'too-many-tokens',
        reason: `too many (${values.length}) tokens are received`,
      };
    const value = values[0]!;
    if (!value.startsWith(BEARER_PREFIX))
      return {
        ok: false,
        code: 'no-bearer-prefix',
        reason: `received token does not have ${q(BEARER_PREFIX)} prefix`,
      };
    const token = value.slice(BEARER_PREFIX.length);
    const key = tokenCacheKey(token);

    const cached = cache.get(key);
    if (cached !== undefined) {
      logger?.debug(5, 'Agent token accepted from cache', { username: cached });
      return { ok: true, username: cached };
    }
    let shared = inFlight.get(key);
    if (!shared) {
      shared = review(key, token).finally(() => inFlight.delete(key));
      inFlight.set(key, shared);
    }
    const result = await raceAbort(shared, signal);
    if (result.ok)
      logger?.debug(5, 'Agent successfully authenticated via token', { username: result.username });
    return result;
  };

  return {
    authenticate,
    close: () => {
      if (closed) return;
      closed = true;
      client.close();
      cache.clear();
    },
  };
}

/** All values under `authorization`, whatever the key's case (gRPC lower-cases, other callers may not). */
function authorizationValues(metadata: Record<string, string[]>): string[] {
  const out: string[] = [];
  for (const [key, values] of Object.entries(metadata)) {
    if (key.toLowerCase() === AUTHORIZATION_METADATA_KEY) out.push(...values);
  }
  return out;
}

function raceAbort(
  result: Promise<AgentAuthResult>,
  signal: AbortSignal | undefined,
): Promise<AgentAuthResult> {
  if (!signal) return result;
  const aborted: AgentAuthResult = {
    ok: false,
    code: 'aborted',
    reason: 'the agent went away while its token was being reviewed',
  };
  if (signal.aborted) return Promise.resolve(aborted);
  return new Promise<AgentAuthResult>((resolve) => {
    const onAbort = (): void => resolve(aborted);
    signal.addEventListener('abort', onAbort, { once: true });
    void result.then((r) => {
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    });
  });
}
