/**
 * Service-account token authentication of agents, as Kamaji runs it: the server reviews each agent's
 * bearer token with the Kubernetes API (here a real HTTPS fake of the TokenReview endpoint) and admits only
 * the configured service account; the agent re-reads its token file at every connect.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { httpGet } from '../helpers/http';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { FakeKubeApiServer, TOKEN_REVIEW_PATH } from '../auth/fakeKubeApiServer';
import {
  OPEN_SERVER_CONNECTIONS,
  READY_BACKENDS,
  startAgent,
  startServer,
  type RunningTestServer,
} from './cluster';

jest.setTimeout(60_000);

const tls = useTlsDir();
const AUDIENCE = 'system:konnectivity-server';
let work: string;
let echo: TargetServer;
let kube: FakeKubeApiServer;
let server: RunningTestServer;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-auth-'));
  echo = await startEchoServer();
  kube = await FakeKubeApiServer.start(tls());
  kube.addServiceAccountToken('good-token', 'kube-system', 'konnectivity-agent', [AUDIENCE]);
  kube.addServiceAccountToken('other-sa-token', 'kube-system', 'someone-else', [AUDIENCE]);
  kube.addServiceAccountToken('wrong-audience-token', 'kube-system', 'konnectivity-agent', [
    'https://kubernetes.default.svc',
  ]);
  const kubeconfig = await kube.writeKubeconfig(work, { credentials: 'client-cert', inline: true });
  server = await startServer(tls(), work, {
    mode: 'grpc',
    extraArgs: [
      '--agent-namespace=kube-system',
      '--agent-service-account=konnectivity-agent',
      `--authentication-audience=${AUDIENCE}`,
      `--kubeconfig=${kubeconfig}`,
      '--kubeconfig-qps=50',
      '--kubeconfig-burst=100',
    ],
  });
});
afterAll(async () => {
  await stopAllProcesses();
  await kube.close();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

function tokenFile(name: string, token: string): string {
  const file = path.join(work, name);
  writeFileSync(file, `${token}\n`);
  return file;
}

it('admits an agent whose token the API authenticates as the configured service account', async () => {
  const agent = await startAgent(tls(), work, server, {
    agentId: 'authorised',
    extraArgs: [`--service-account-token-path=${tokenFile('good', 'good-token')}`],
  });
  await waitFor(async () => (await agent.metrics()).value(OPEN_SERVER_CONNECTIONS) === 1, {
    description: 'admitted',
  });
  const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
  expect((await sendAndReceive(tunnel, Buffer.from('authorised'), 10)).toString()).toBe('authorised');
  tunnel.destroy();

  const review = kube.requests.find((r) => r.path === TOKEN_REVIEW_PATH && r.body.includes('good-token'));
  expect(review?.method).toBe('POST');
  expect(review?.headers['content-type']).toBe('application/json');
  expect(JSON.parse(review!.body)).toMatchObject({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    spec: { token: 'good-token', audiences: [AUDIENCE] },
  });
  await agent.process.stop('SIGKILL');
});

it.each([
  ['another service account', 'other-sa-token', /someone-else/],
  ['a token for another audience', 'wrong-audience-token', /audience/],
  ['a token the API does not know', 'forged-token', /authenticat/i],
])('refuses %s before any header, with a log line saying why', async (_what, token, why) => {
  const agent = await startAgent(tls(), work, server, {
    agentId: `refused-${token}`,
    extraArgs: [`--service-account-token-path=${tokenFile(token, token)}`],
  });
  await server.process.waitForOutput(new RegExp(`Client authentication failed.*refused-${token}`));
  expect(server.process.output()).toMatch(why);
  expect((await agent.metrics()).value(OPEN_SERVER_CONNECTIONS)).toBe(0);
  expect((await httpGet(agent.healthUrl('/readyz'))).status).toBe(503);
  await agent.process.stop('SIGKILL');
});

it('refuses an agent without a token', async () => {
  const agent = await startAgent(tls(), work, server, { agentId: 'no-token' });
  await server.process.waitForOutput(/Client authentication failed.*no-token/);
  expect((await agent.metrics()).value(OPEN_SERVER_CONNECTIONS)).toBe(0);
  await agent.process.stop('SIGKILL');
});

it('reads the token file afresh at every connect, so a rotated token is picked up', async () => {
  const file = tokenFile('rotating', 'forged-token');
  const agent = await startAgent(tls(), work, server, {
    agentId: 'rotating',
    extraArgs: [`--service-account-token-path=${file}`],
  });
  await server.process.waitForOutput(/Client authentication failed.*rotating/);
  writeFileSync(file, 'good-token\n'); // the kubelet rotated the projected token
  await waitFor(async () => (await agent.metrics()).value(OPEN_SERVER_CONNECTIONS) === 1, {
    description: 'admitted after rotation',
    timeoutMs: 15_000,
  });
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'server ready',
  });
  await agent.process.stop('SIGKILL');
});
