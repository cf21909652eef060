import { mkdir, mkdtemp, rm, writeFile } from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import { stringify as toYaml } from 'yaml';
import { KubeconfigError, type KubeconfigErrorReason } from '../../src/auth/errors';
import { loadInClusterConfig, loadKubeClientConfig } from '../../src/auth/inClusterConfig';
import { loadKubeconfig } from '../../src/auth/kubeconfig';
import { useTlsDir } from '../helpers/tls';

const tls = useTlsDir();
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kubeconfig-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');

interface Parts {
  current?: string | null;
  cluster?: Record<string, unknown>;
  user?: Record<string, unknown> | null;
  contextUser?: string;
}

/** A one-context kubeconfig; `parts` replaces pieces to make it wrong in one way at a time. */
async function writeKubeconfig(parts: Parts, subdir = ''): Promise<string> {
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': parts.current === undefined ? 'ctx' : parts.current,
    clusters: [{ name: 'c', cluster: parts.cluster ?? { server: 'https://10.0.0.1:6443' } }],
    users: parts.user === null ? [] : [{ name: 'u', user: parts.user ?? { token: 'abc' } }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: parts.contextUser ?? 'u' } }],
  };
  const target = path.join(dir, subdir);
  await mkdir(target, { recursive: true });
  const file = path.join(target, 'config');
  await writeFile(file, toYaml(doc));
  return file;
}

function expectKubeconfigError(
  fn: () => unknown,
  reason: KubeconfigErrorReason,
  text: string | RegExp,
): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(KubeconfigError);
  expect((thrown as KubeconfigError).reason).toBe(reason);
  expect((thrown as KubeconfigError).message).toMatch(text);
}

describe('loadKubeconfig', () => {
  test('inline *-data fields are decoded: server, CA, client certificate and key', async () => {
    const pems = tls().pems;
    const file = await writeKubeconfig({
      cluster: {
        server: 'https://kube.example:6443/prefix',
        'certificate-authority-data': b64(pems.ca.cert),
      },
      user: { 'client-certificate-data': b64(pems.agent.cert), 'client-key-data': b64(pems.agent.key) },
    });

    const config = loadKubeconfig(file);

    expect(config.server.href).toBe('https://kube.example:6443/prefix');
    expect(config.tls.ca?.toString()).toBe(pems.ca.cert);
    expect(config.tls.clientCert?.toString()).toBe(pems.agent.cert);
    expect(config.tls.clientKey?.toString()).toBe(pems.agent.key);
    expect(config.tls.insecureSkipTlsVerify).toBe(false);
    expect(config.credentials).toEqual({ kind: 'none' });
  });

  test('relative file paths resolve against the kubeconfig directory, not the working directory', async () => {
    const t = tls();
    const rel = (p: string): string => path.relative(path.join(dir, 'nested'), p);
    const file = await writeKubeconfig(
      {
        cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority': rel(t.caCert) },
        user: {
          'client-certificate': rel(t.agentCert),
          'client-key': rel(t.agentKey),
          tokenFile: 'sa-token',
        },
      },
      'nested',
    );

    const config = loadKubeconfig(file);

    expect(config.tls.ca?.toString()).toBe(t.pems.ca.cert);
    expect(config.tls.clientCert?.toString()).toBe(t.pems.agent.cert);
    expect(config.credentials).toEqual({ kind: 'token-file', path: path.join(dir, 'nested', 'sa-token') });
  });

  test('a *-data field wins over its file twin, which is then not read (as in client-go)', async () => {
    const file = await writeKubeconfig({
      cluster: {
        server: 'https://10.0.0.1:6443',
        'certificate-authority': 'does-not-exist.crt',
        'certificate-authority-data': b64(tls().pems.ca.cert),
      },
    });
    expect(loadKubeconfig(file).tls.ca?.toString()).toBe(tls().pems.ca.cert);
  });

  test('token wins over tokenFile; username/password become basic credentials', async () => {
    const both = await writeKubeconfig({ user: { token: 't0k', tokenFile: '/nope' } });
    expect(loadKubeconfig(both).credentials).toEqual({ kind: 'token', token: 't0k' });
    const basic = await writeKubeconfig({ user: { username: 'admin', password: 'secret' } });
    expect(loadKubeconfig(basic).credentials).toEqual({
      kind: 'basic',
      username: 'admin',
      password: 'secret',
    });
  });

  test('a bare host:port server means https, like client-go', async () => {
    const file = await writeKubeconfig({ cluster: { server: '10.0.0.1:6443' } });
    expect(loadKubeconfig(file).server.href).toBe('https://10.0.0.1:6443/');
  });

  test('a context without a user means no credentials', async () => {
    const file = await writeKubeconfig({ contextUser: '' });
    expect(loadKubeconfig(file).credentials).toEqual({ kind: 'none' });
  });

  test('no current-context: missing-field naming current-context', async () => {
    const file = await writeKubeconfig({ current: null });
    expectKubeconfigError(() => loadKubeconfig(file), 'missing-field', /current-context is not set/);
  });

  test('current-context names no context: client-go text', async () => {
    const file = await writeKubeconfig({ current: 'elsewhere' });
    expectKubeconfigError(
      () => loadKubeconfig(file),
      'not-found',
      'context was not found for specified context: elsewhere',
    );
  });

  test('the context user does not exist: not-found naming it', async () => {
    const file = await writeKubeconfig({ user: null });
    expectKubeconfigError(() => loadKubeconfig(file), 'not-found', 'auth info "u" does not exist');
  });

  test('a cluster without server: missing-field', async () => {
    const file = await writeKubeconfig({ cluster: { 'insecure-skip-tls-verify': true } });
    expectKubeconfigError(
      () => loadKubeconfig(file),
      'missing-field',
      /cluster "c": cluster has no server defined/,
    );
  });

  test('bad YAML: invalid-yaml with the path and the parser message', async () => {
    const file = path.join(dir, 'broken');
    await writeFile(file, 'clusters: [\n  - name: x\n');
    expectKubeconfigError(
      () => loadKubeconfig(file),
      'invalid-yaml',
      new RegExp(`kubeconfig "${file}" is not valid YAML`),
    );
  });

  test('an empty file: the client-go "no configuration" text', async () => {
    const file = path.join(dir, 'empty');
    await writeFile(file, '');
    expectKubeconfigError(() => loadKubeconfig(file), 'missing-field', /no configuration has been provided/);
  });

  test('a kubeconfig that does not exist: read-failed with the cause', () => {
    let thrown: unknown;
    try {
      loadKubeconfig(path.join(dir, 'absent'));
    } catch (err) {
      thrown = err;
    }
    expect((thrown as KubeconfigError).reason).toBe('read-failed');
    expect((thrown as KubeconfigError).cause).toMatchObject({ code: 'ENOENT' });
  });

  test('an unreadable CA file: read-failed naming the field and the resolved path', async () => {
    const file = await writeKubeconfig({
      cluster: { server: 'https://h', 'certificate-authority': 'ca.pem' },
    });
    expectKubeconfigError(
      () => loadKubeconfig(file),
      'read-failed',
      `unable to read certificate-authority "${path.join(dir, 'ca.pem')}"`,
    );
  });

  test('a client certificate without a key: missing-field naming client-key', async () => {
    const file = await writeKubeconfig({ user: { 'client-certificate-data': b64(tls().pems.agent.cert) } });
    expectKubeconfigError(
      () => loadKubeconfig(file),
      'missing-field',
      /client-key-data or client-key must be specified/,
    );
  });

  test('a CA together with insecure-skip-tls-verify: invalid-value (client-go refuses it too)', async () => {
    const file = await writeKubeconfig({
      cluster: {
        server: 'https://h',
        'insecure-skip-tls-verify': true,
        'certificate-authority-data': b64('x'),
      },
    });
    expectKubeconfigError(
      () => loadKubeconfig(file),
      'invalid-value',
      /root certificates file with the insecure flag/,
    );
  });

  test('bad base64 is refused instead of silently truncated', async () => {
    const file = await writeKubeconfig({
      cluster: { server: 'https://h', 'certificate-authority-data': 'not*base64' },
    });
    expectKubeconfigError(
      () => loadKubeconfig(file),
      'invalid-value',
      /certificate-authority-data is not valid base64/,
    );
  });

  test('exec credential plugins are refused as unsupported, not ignored', async () => {
    const file = await writeKubeconfig({ user: { exec: { command: 'aws' } } });
    expectKubeconfigError(() => loadKubeconfig(file), 'unsupported', /exec credentials are not supported/);
  });

  test('token and basic auth together: invalid-value', async () => {
    const file = await writeKubeconfig({ user: { token: 't', username: 'u', password: 'p' } });
    expectKubeconfigError(() => loadKubeconfig(file), 'invalid-value', /more than one authentication method/);
  });
});

describe('in-cluster configuration (empty --kubeconfig)', () => {
  test('outside a pod: the client-go ErrNotInCluster text', () => {
    expectKubeconfigError(
      () => loadKubeClientConfig('', { env: {} }),
      'in-cluster-unavailable',
      'unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined',
    );
  });

  test('in a pod: the service host, the mounted CA and the token file (re-read later)', async () => {
    await writeFile(path.join(dir, 'token'), 'pod-token');
    await writeFile(path.join(dir, 'ca.crt'), tls().pems.ca.cert);
    const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };

    const config = loadInClusterConfig({ env, serviceAccountDir: dir });

    expect(config.server.href).toBe('https://[fd00::1]/');
    expect(config.tls.ca?.toString()).toBe(tls().pems.ca.cert);
    expect(config.credentials).toEqual({ kind: 'token-file', path: path.join(dir, 'token') });
  });

  test('in a pod without a token: read-failed at start-up', () => {
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    expectKubeconfigError(
      () => loadInClusterConfig({ env, serviceAccountDir: dir }),
      'read-failed',
      /in-cluster token/,
    );
  });

  test('a missing CA is logged and the system roots are used, as client-go does', async () => {
    await writeFile(path.join(dir, 'token'), 'pod-token');
    const warnings: string[] = [];
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

    const config = loadInClusterConfig({ env, serviceAccountDir: dir, warn: (m) => warnings.push(m) });

    expect(config.tls.ca).toBeUndefined();
    expect(warnings).toEqual([expect.stringContaining('Expected to load root CA config from')]);
  });
});
