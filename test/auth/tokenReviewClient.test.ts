import { mkdtemp, rm, writeFile } from 'fs/promises';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { TokenReviewError } from '../../src/auth/errors';
import { loadKubeconfig, type KubeClientConfig } from '../../src/auth/kubeconfig';
import {
  createTokenReviewClient,
  TOKEN_REVIEW_PATH,
  type TokenReviewClient,
} from '../../src/auth/tokenReviewClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { FakeKubeApiServer } from './fakeKubeApiServer';
import { ManualClock } from './manualClock';

const AUDIENCE = 'system:konnectivity-server';
const tls = useTlsDir();
let dir: string;
let fake: FakeKubeApiServer | undefined;
let client: TokenReviewClient | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'token-review-test-'));
});
afterEach(async () => {
  client?.close();
  client = undefined;
  await fake?.close();
  fake = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function startWithClientCert(): Promise<{ fake: FakeKubeApiServer; config: KubeClientConfig }> {
  fake = await FakeKubeApiServer.start(tls(), { kind: 'client-cert' });
  return { fake, config: loadKubeconfig(await fake.writeKubeconfig(dir, { credentials: 'client-cert' })) };
}

async function reviewError(p: Promise<unknown>): Promise<TokenReviewError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenReviewError);
  return err as TokenReviewError;
}

test('sends a JSON TokenReview with the audience over mTLS and returns its status', async () => {
  const { fake, config } = await startWithClientCert();
  fake.addServiceAccountToken('tok', 'kube-system', 'konnectivity-agent', [AUDIENCE]);
  client = createTokenReviewClient({ config, qps: 0, burst: 0 });

  const status = await client.review('tok', [AUDIENCE]);

  expect(status).toMatchObject({
    authenticated: true,
    user: { username: 'system:serviceaccount:kube-system:konnectivity-agent' },
    audiences: [AUDIENCE],
  });
  const [req] = fake.requests;
  expect(req).toMatchObject({ method: 'POST', path: TOKEN_REVIEW_PATH, clientCertVerified: true });
  expect(req!.headers['content-type']).toBe('application/json');
  expect(req!.headers['accept']).toBe('application/json');
  expect(JSON.parse(req!.body)).toEqual({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    spec: { token: 'tok', audiences: [AUDIENCE] },
  });
});

test('reuses one kept-alive connection for successive reviews', async () => {
  const { fake, config } = await startWithClientCert();
  client = createTokenReviewClient({ config, qps: 0, burst: 0 });
  await client.review('a', [AUDIENCE]);
  await client.review('b', [AUDIENCE]);
  const [first, second] = fake.requests;
  expect(second!.clientPort).toBe(first!.clientPort);
});

test('the default protobuf --kube-api-content-type is accepted and JSON is sent; other types are refused', async () => {
  const { fake, config } = await startWithClientCert();
  client = createTokenReviewClient({
    config,
    qps: 0,
    burst: 0,
    contentType: 'application/vnd.kubernetes.protobuf',
  });
  await client.review('x', [AUDIENCE]);
  expect(fake.requests[0]!.headers['content-type']).toBe('application/json');
  expect(() => createTokenReviewClient({ config, qps: 0, burst: 0, contentType: 'text/plain' })).toThrow(
    /--kube-api-content-type "text\/plain" is not supported/,
  );
});

test('a kubeconfig bearer token authenticates the client; a wrong one gets the API server 401 text', async () => {
  fake = await FakeKubeApiServer.start(tls(), { kind: 'bearer', token: 'server-sa-token' });
  const good = loadKubeconfig(await fake.writeKubeconfig(dir, { credentials: 'token', inline: true }));
  client = createTokenReviewClient({ config: good, qps: 0, burst: 0 });
  await expect(client.review('x', [AUDIENCE])).resolves.toEqual({ user: {} });
  client.close();

  const bad: KubeClientConfig = { ...good, credentials: { kind: 'token', token: 'wrong' } };
  client = createTokenReviewClient({ config: bad, qps: 0, burst: 0 });
  const err = await reviewError(client.review('x', [AUDIENCE]));
  expect(err).toMatchObject({ reason: 'http-status', statusCode: 401, message: 'Unauthorized' });
});

test('a token file is re-read after a minute, so a rotated token is used', async () => {
  fake = await FakeKubeApiServer.start(tls(), { kind: 'bearer', token: 'v2' });
  const tokenFile = path.join(dir, 'token');
  await writeFile(tokenFile, 'v1\n');
  const clock = new ManualClock();
  const config = loadKubeconfig(await fake.writeKubeconfig(dir, { credentials: 'token-file', tokenFile }));
  client = createTokenReviewClient({ config, qps: -1, burst: 0, clock });

  await expect(client.review('x', [AUDIENCE])).rejects.toMatchObject({ statusCode: 401 });
  await writeFile(tokenFile, 'v2\n');
  // within the minute the old token is still used
  await expect(client.review('x', [AUDIENCE])).rejects.toMatchObject({ statusCode: 401 });
  clock.advance(60_000);
  await expect(client.review('x', [AUDIENCE])).resolves.toBeDefined();
  expect(fake.requests.map((r) => r.headers['authorization'])).toEqual([
    'Bearer v1',
    'Bearer v1',
    'Bearer v2',
  ]);
});

test('a server whose certificate the kubeconfig CA does not sign is unreachable, with the TLS cause', async () => {
  const { config } = await startWithClientCert();
  const other = { ...config, tls: { ...config.tls, ca: Buffer.from(tls().pems.agent.cert) } };
  client = createTokenReviewClient({ config: other, qps: 0, burst: 0 });
  const err = await reviewError(client.review('x', [AUDIENCE]));
  expect(err.reason).toBe('unreachable');
  expect(err.message).toMatch(
    /^Post "https:\/\/127\.0\.0\.1:\d+\/apis\/authentication\.k8s\.io\/v1\/tokenreviews": /,
  );
});

test('nothing listening: unreachable, in the Go url.Error shape', async () => {
  const port = await closedPort();
  const config: KubeClientConfig = {
    source: 'test',
    server: new URL(`https://127.0.0.1:${port}`),
    tls: { insecureSkipTlsVerify: false, ca: Buffer.from(tls().pems.ca.cert) },
    credentials: { kind: 'none' },
  };
  client = createTokenReviewClient({ config, qps: 0, burst: 0 });
  const err = await reviewError(client.review('x', [AUDIENCE]));
  expect(err).toMatchObject({ reason: 'unreachable' });
  expect(err.message).toBe(
    `Post "https://127.0.0.1:${port}${TOKEN_REVIEW_PATH}": connect ECONNREFUSED 127.0.0.1:${port}`,
  );
});

test('an API server that does not answer: timeout after the request timeout', async () => {
  const { fake, config } = await startWithClientCert();
  fake.delayMs = Infinity;
  client = createTokenReviewClient({ config, qps: 0, burst: 0, timeoutMs: 200 });
  const err = await reviewError(client.review('x', [AUDIENCE]));
  expect(err.reason).toBe('timeout');
  expect(err.message).toMatch(/context deadline exceeded/);
});

test('a 500 with a non-Status body: client-go generic server-error text with an excerpt', async () => {
  const { fake, config } = await startWithClientCert();
  fake.failNext(500, 'etcd is sad');
  client = createTokenReviewClient({ config, qps: 0, burst: 0 });
  const err = await reviewError(client.review('x', [AUDIENCE]));
  expect(err).toMatchObject({ reason: 'http-status', statusCode: 500 });
  expect(err.message).toBe(
    'an error on the server ("etcd is sad") has prevented the request from succeeding',
  );
});

test('a 2xx that is not a TokenReview: invalid-response', async () => {
  const { fake, config } = await startWithClientCert();
  fake.failNext(200, '{"kind":"Pod"}');
  client = createTokenReviewClient({ config, qps: 0, burst: 0 });
  expect(await reviewError(client.review('x', [AUDIENCE]))).toMatchObject({ reason: 'invalid-response' });
});

test('close() fails a review in flight with closed, later reviews too, and may be called twice', async () => {
  const { fake, config } = await startWithClientCert();
  fake.delayMs = Infinity;
  client = createTokenReviewClient({ config, qps: 0, burst: 0 });
  const pending = client.review('x', [AUDIENCE]);
  // the request must be on the wire before close(), or close() only proves the pre-flight check
  await waitUntil(() => fake.requests.length === 1);
  client.close();
  client.close();
  expect(await reviewError(pending)).toMatchObject({ reason: 'closed' });
  expect(await reviewError(client.review('y', [AUDIENCE]))).toMatchObject({ reason: 'closed' });
});

test('an aborted signal stops the request with aborted', async () => {
  const { fake, config } = await startWithClientCert();
  fake.delayMs = Infinity;
  client = createTokenReviewClient({ config, qps: 0, burst: 0 });
  const controller = new AbortController();
  const pending = client.review('x', [AUDIENCE], { signal: controller.signal });
  await waitUntil(() => fake.requests.length === 1);
  controller.abort();
  expect(await reviewError(pending)).toMatchObject({ reason: 'aborted' });
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const waitUntil = (cond: () => boolean): Promise<true> =>
  waitFor(() => cond() || undefined, { description: cond.toString() });
