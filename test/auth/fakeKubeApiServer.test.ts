/**
 * The fake is only worth its tests if it refuses what kube-apiserver refuses; these pin that down with raw
 * HTTPS requests, independent of our client.
 */
import * as https from 'https';
import { useTlsDir } from '../helpers/tls';
import { API_SERVER_AUDIENCE, FakeKubeApiServer, TOKEN_REVIEW_PATH } from './fakeKubeApiServer';

const tls = useTlsDir();
let fake: FakeKubeApiServer;

beforeEach(async () => {
  fake = await FakeKubeApiServer.start(tls(), { kind: 'client-cert' });
  fake.addServiceAccountToken('sa-token', 'kube-system', 'konnectivity-agent', [
    'system:konnectivity-server',
  ]);
});
afterEach(async () => {
  await fake.close();
});

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function send(opts: {
  method?: string;
  path?: string;
  contentType?: string;
  body?: unknown;
  clientCert?: boolean;
}): Promise<Reply> {
  const t = tls();
  const body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body ?? {});
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${fake.url}${opts.path ?? TOKEN_REVIEW_PATH}`,
      {
        method: opts.method ?? 'POST',
        ca: t.pems.ca.cert,
        ...(opts.clientCert !== false && {
          cert: t.pems.frontendClient.cert,
          key: t.pems.frontendClient.key,
        }),
        headers: { 'Content-Type': opts.contentType ?? 'application/json' },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.method === 'GET' ? undefined : body);
  });
}

const review = (token: string, audiences?: string[]): unknown => ({
  apiVersion: 'authentication.k8s.io/v1',
  kind: 'TokenReview',
  spec: { token, ...(audiences && { audiences }) },
});

test('a valid token for the requested audience: 201, authenticated, username, intersected audiences', async () => {
  const reply = await send({ body: review('sa-token', ['system:konnectivity-server', 'other']) });
  expect(reply.status).toBe(201);
  expect(reply.body).toMatchObject({
    kind: 'TokenReview',
    status: {
      authenticated: true,
      user: { username: 'system:serviceaccount:kube-system:konnectivity-agent' },
      audiences: ['system:konnectivity-server'],
    },
  });
});

test('a token minted for another audience: authenticated false with the API server error text', async () => {
  const reply = await send({ body: review('sa-token') });
  expect(reply.status).toBe(201);
  expect(reply.body['status']).toEqual({
    user: {},
    error: `[invalid bearer token, token audiences ["system:konnectivity-server"] is invalid for the target audiences ["${API_SERVER_AUDIENCE}"]]`,
  });
});

test('an unknown token: authenticated false, no error', async () => {
  const reply = await send({ body: review('nobody') });
  expect(reply.body['status']).toEqual({ user: {} });
});

test('without a client certificate: 401 Status Unauthorized', async () => {
  const reply = await send({ body: review('sa-token'), clientCert: false });
  expect(reply).toMatchObject({ status: 401, body: { kind: 'Status', reason: 'Unauthorized', code: 401 } });
  expect(fake.reviewCount).toBe(0);
});

test('wrong method, path, content type, apiVersion, kind, empty token: the API server codes', async () => {
  expect((await send({ method: 'GET' })).status).toBe(405);
  expect((await send({ path: '/apis/authentication.k8s.io/v1beta1/tokenreviews' })).status).toBe(404);
  expect((await send({ contentType: 'text/plain', body: review('sa-token') })).status).toBe(415);
  expect((await send({ body: 'not json' })).status).toBe(400);
  expect((await send({ body: { ...(review('x') as object), apiVersion: 'v1' } })).body['message']).toMatch(
    /does not match the expected API version/,
  );
  expect((await send({ body: { ...(review('x') as object), kind: 'Pod' } })).status).toBe(400);
  expect((await send({ body: review('') })).body['message']).toBe(
    'token is required for TokenReview in authentication',
  );
  expect(fake.reviewCount).toBe(0);
  expect(fake.requests).toHaveLength(7);
});
