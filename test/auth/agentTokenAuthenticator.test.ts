import { mkdtemp, rm } from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import {
  createAgentTokenAuthenticator,
  type AgentTokenAuthenticator,
  type AgentTokenAuthenticatorOptions,
} from '../../src/auth/agentTokenAuthenticator';
import { KubeconfigError, TokenReviewError } from '../../src/auth/errors';
import { useTlsDir } from '../helpers/tls';
import { waitFor, waitForStable } from '../helpers/waitFor';
import { FakeKubeApiServer } from './fakeKubeApiServer';
import { ManualClock } from './manualClock';

const NS = 'kube-system';
const SA = 'konnectivity-agent';
const AUDIENCE = 'system:konnectivity-server';
const USERNAME = `system:serviceaccount:${NS}:${SA}`;
const VALIDATE = 'Failed to validate authentication token, err:';

const tls = useTlsDir();
let dir: string;
let fake: FakeKubeApiServer;
let kubeconfigPath: string;
let clock: ManualClock;
const authenticators: AgentTokenAuthenticator[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'agent-auth-test-'));
  fake = await FakeKubeApiServer.start(tls(), { kind: 'client-cert' });
  kubeconfigPath = await fake.writeKubeconfig(dir, { credentials: 'client-cert' });
  clock = new ManualClock();
});
afterEach(async () => {
  for (const a of authenticators.splice(0)) a.close();
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

function make(overrides: Partial<AgentTokenAuthenticatorOptions> = {}): AgentTokenAuthenticator {
  const a = createAgentTokenAuthenticator({
    kubeconfigPath,
    namespace: NS,
    serviceAccount: SA,
    audience: AUDIENCE,
    qps: 0,
    burst: 0,
    clock,
    ...overrides,
  });
  authenticators.push(a);
  return a;
}

const bearer = (token: string): Record<string, string[]> => ({ authorization: [`Bearer ${token}`] });

/** An unsigned JWT: the authenticator only reads `exp`; the (fake) API server does the verifying. */
function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'k' })}.${part(claims)}.c2lnbmF0dXJl`;
}

describe('accepts', () => {
  test('the configured service account with the configured audience', async () => {
    fake.addServiceAccountToken('good', NS, SA, [AUDIENCE]);
    await expect(make().authenticate(bearer('good'))).resolves.toEqual({ ok: true, username: USERNAME });
    expect(JSON.parse(fake.requests[0]!.body)).toMatchObject({
      spec: { token: 'good', audiences: [AUDIENCE] },
    });
  });

  test('a review without status.audiences (an audience-unaware API server), as the reference does', async () => {
    fake.addServiceAccountToken('good', NS, SA, [AUDIENCE]);
    fake.audienceReporting = 'omit';
    await expect(make().authenticate(bearer('good'))).resolves.toMatchObject({ ok: true });
  });
});

describe('refuses, with the reference text, before asking the API server', () => {
  test.each([
    ['no authorization metadata', {}, 'missing-token', 'Authentication context was not found in metadata'],
    [
      'two authorization values',
      { authorization: ['Bearer a', 'Bearer b'] },
      'too-many-tokens',
      'too many (2) tokens are received',
    ],
    [
      'a lower-case scheme',
      { authorization: ['bearer a'] },
      'no-bearer-prefix',
      'received token does not have "Bearer " prefix',
    ],
    [
      'basic credentials',
      { authorization: ['Basic YTpi'] },
      'no-bearer-prefix',
      'received token does not have "Bearer " prefix',
    ],
  ])('%s', async (_name, metadata, code, reason) => {
    await expect(make().authenticate(metadata)).resolves.toEqual({ ok: false, code, reason });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('refuses after the TokenReview', () => {
  test('an unknown token: service account jwt not valid', async () => {
    await expect(make().authenticate(bearer('forged'))).resolves.toEqual({
      ok: false,
      code: 'not-authenticated',
      reason: `${VALIDATE}lookup failed: service account jwt not valid`,
    });
  });

  test('a token the API server rejects with an error: that error, as lookup failed', async () => {
    fake.addInvalidToken('revoked', '[invalid bearer token, service account token has been invalidated]');
    await expect(make().authenticate(bearer('revoked'))).resolves.toEqual({
      ok: false,
      code: 'review-error',
      reason: `${VALIDATE}lookup failed: [invalid bearer token, service account token has been invalidated]`,
    });
  });

  test('a token minted for another audience: the API server says so and we refuse', async () => {
    fake.addServiceAccountToken('kube-api-only', NS, SA, ['https://kubernetes.default.svc.cluster.local']);
    const result = await make().authenticate(bearer('kube-api-only'));
    expect(result).toMatchObject({ ok: false, code: 'review-error' });
    expect(!result.ok && result.reason).toMatch(
      /token audiences .* is invalid for the target audiences \["system:konnectivity-server"\]/,
    );
  });

  test('a review that reports audiences without ours (a misbehaving server): wrong-audience', async () => {
    fake.addServiceAccountToken('good', NS, SA, [AUDIENCE]);
    fake.audienceReporting = { fixed: ['something-else'] };
    await expect(make().authenticate(bearer('good'))).resolves.toEqual({
      ok: false,
      code: 'wrong-audience',
      reason: `${VALIDATE}lookup failed: token audiences ["something-else"] do not include "system:konnectivity-server"`,
    });
  });

  test('another namespace', async () => {
    fake.addServiceAccountToken('t', 'default', SA, [AUDIENCE]);
    await expect(make().authenticate(bearer('t'))).resolves.toEqual({
      ok: false,
      code: 'wrong-namespace',
      reason: `${VALIDATE}lookup failed: incoming request from "default" namespace. Expected "kube-system"`,
    });
  });

  test('another service account', async () => {
    fake.addServiceAccountToken('t', NS, 'default', [AUDIENCE]);
    await expect(make().authenticate(bearer('t'))).resolves.toEqual({
      ok: false,
      code: 'wrong-service-account',
      reason: `${VALIDATE}lookup failed: incoming request from "default" service account. Expected "konnectivity-agent"`,
    });
  });

  test('a user that is not a service account', async () => {
    fake.addUserToken('node', 'system:node:worker-1', [AUDIENCE]);
    fake.addUserToken('n4', 'system:nodes:kube-system:konnectivity-agent', [AUDIENCE]);
    const a = make();
    await expect(a.authenticate(bearer('node'))).resolves.toMatchObject({
      code: 'bad-username-format',
      reason: `${VALIDATE}lookup failed: unexpected username format`,
    });
    await expect(a.authenticate(bearer('n4'))).resolves.toMatchObject({
      code: 'not-service-account',
      reason: `${VALIDATE}lookup failed: username returned is not a service account`,
    });
  });

  test('the API server unreachable: a clear reason, no throw, and the next agent is still served', async () => {
    fake.addServiceAccountToken('good', NS, SA, [AUDIENCE]);
    const a = make();
    await fake.close();
    const result = await a.authenticate(bearer('good'));
    expect(result).toMatchObject({ ok: false, code: 'review-failed' });
    expect(!result.ok && result.reason).toMatch(
      /^Failed to validate authentication token, err:Failed to authenticate request\. err:Post "https:\/\/127\.0\.0\.1:\d+\/apis\/authentication\.k8s\.io\/v1\/tokenreviews": connect ECONNREFUSED/,
    );
    expect(!result.ok && result.cause).toBeInstanceOf(TokenReviewError);
  });

  test('an API server error (500) is a refusal, not a crash', async () => {
    fake.failNext(
      500,
      JSON.stringify({ kind: 'Status', message: 'etcdserver: request timed out', code: 500 }),
    );
    await expect(make().authenticate(bearer('x'))).resolves.toMatchObject({
      ok: false,
      code: 'review-failed',
      reason: `${VALIDATE}Failed to authenticate request. err:etcdserver: request timed out`,
    });
  });
});

describe('cache', () => {
  test('a second connection with the same token does not reach the API server', async () => {
    fake.addServiceAccountToken('good', NS, SA, [AUDIENCE]);
    const a = make();
    await a.authenticate(bearer('good'));
    await expect(a.authenticate(bearer('good'))).resolves.toEqual({ ok: true, username: USERNAME });
    expect(fake.reviewCount).toBe(1);
  });

  test('an entry lives for the TTL, then the token is reviewed again', async () => {
    fake.addServiceAccountToken('good', NS, SA, [AUDIENCE]);
    const a = make({ cacheTtlMs: 60_000 });
    await a.authenticate(bearer('good'));
    clock.advance(59_999);
    await a.authenticate(bearer('good'));
    expect(fake.reviewCount).toBe(1);
    clock.advance(1);
    await a.authenticate(bearer('good'));
    expect(fake.reviewCount).toBe(2);
  });

  test("an entry never outlives the token's own exp", async () => {
    const token = jwt({ exp: (clock.now() + 10_000) / 1000, sub: USERNAME });
    fake.addServiceAccountToken(token, NS, SA, [AUDIENCE]);
    const a = make({ cacheTtlMs: 60_000 });
    await a.authenticate(bearer(token));
    clock.advance(9_999);
    await a.authenticate(bearer(token));
    expect(fake.reviewCount).toBe(1);
    clock.advance(1);
    await a.authenticate(bearer(token));
    expect(fake.reviewCount).toBe(2);
  });

  test('an already expired JWT the server still accepts is not cached', async () => {
    const token = jwt({ exp: (clock.now() - 1_000) / 1000 });
    fake.addServiceAccountToken(token, NS, SA, [AUDIENCE]);
    const a = make();
    await a.authenticate(bearer(token));
    await a.authenticate(bearer(token));
    expect(fake.reviewCount).toBe(2);
  });

  test('failures are not cached: a token that becomes valid works on the next connection', async () => {
    const a = make();
    await expect(a.authenticate(bearer('late'))).resolves.toMatchObject({ ok: false });
    fake.addServiceAccountToken('late', NS, SA, [AUDIENCE]);
    await expect(a.authenticate(bearer('late'))).resolves.toMatchObject({ ok: true });
    expect(fake.reviewCount).toBe(2);
  });

  test('the cache is bounded: the least recently used token is evicted first', async () => {
    for (const t of ['a', 'b', 'c']) fake.addServiceAccountToken(t, NS, SA, [AUDIENCE]);
    const a = make({ cacheMaxEntries: 2 });
    await a.authenticate(bearer('a'));
    await a.authenticate(bearer('b'));
    await a.authenticate(bearer('a')); // a is now the most recent
    await a.authenticate(bearer('c')); // evicts b
    expect(fake.reviewCount).toBe(3);
    await a.authenticate(bearer('a'));
    expect(fake.reviewCount).toBe(3);
    await a.authenticate(bearer('b'));
    expect(fake.reviewCount).toBe(4);
  });

  test('concurrent connections with the same token share one TokenReview', async () => {
    fake.addServiceAccountToken('good', NS, SA, [AUDIENCE]);
    fake.delayMs = 50;
    const a = make();
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => a.authenticate(bearer('good'))));
    expect(results).toEqual(Array(5).fill({ ok: true, username: USERNAME }));
    expect(fake.requests).toHaveLength(1);
  });

  test('one caller giving up does not fail the others sharing its review', async () => {
    fake.addServiceAccountToken('good', NS, SA, [AUDIENCE]);
    fake.delayMs = 100;
    const a = make();
    const controller = new AbortController();
    const quitter = a.authenticate(bearer('good'), { signal: controller.signal });
    const stayer = a.authenticate(bearer('good'));
    controller.abort();
    await expect(quitter).resolves.toMatchObject({ ok: false, code: 'aborted' });
    await expect(stayer).resolves.toEqual({ ok: true, username: USERNAME });
  });
});

describe('throttling and lifecycle', () => {
  test('--kubeconfig-qps/--kubeconfig-burst throttle reviews: a review beyond the burst waits for the clock', async () => {
    for (const t of ['a', 'b']) fake.addServiceAccountToken(t, NS, SA, [AUDIENCE]);
    const a = make({ qps: 1, burst: 1 });
    await a.authenticate(bearer('a'));
    let done = false;
    const second = a.authenticate(bearer('b')).then((r) => ((done = true), r));
    // the second review stays unsent while the clock stands still
    expect(await waitForStable(() => fake.requests.length, { stableMs: 100 })).toBe(1);
    expect(done).toBe(false);
    clock.advance(1_000);
    await expect(second).resolves.toMatchObject({ ok: true });
  });

  test('close() refuses later calls and ends a review in flight; it may be called twice', async () => {
    fake.delayMs = Infinity;
    const a = make();
    const pending = a.authenticate(bearer('x'));
    await waitFor(() => fake.requests.length === 1 || undefined, { description: 'the review on the wire' });
    a.close();
    a.close();
    await expect(pending).resolves.toMatchObject({ ok: false, code: 'closed' });
    await expect(a.authenticate(bearer('x'))).resolves.toMatchObject({ ok: false, code: 'closed' });
  });

  test('configuration problems surface when the authenticator is created', () => {
    expect(() => make({ namespace: '' })).toThrow(
      '--agent-namespace cannot be empty when agent authentication is enabled',
    );
    expect(() => make({ kubeconfigPath: path.join(dir, 'missing') })).toThrow(KubeconfigError);
    expect(() => make({ qps: 1, burst: -1 })).toThrow(TokenReviewError);
  });
});
