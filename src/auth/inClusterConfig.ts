/**
 * client-go's InClusterConfig, and clientcmd.BuildConfigFromFlags("", path)'s choice between it and a
 * kubeconfig: the reference server builds its client that way, so an empty --kubeconfig means "the pod's
 * own service account".
 */
import { accessSync, constants, readFileSync } from 'fs';
import * as path from 'path';
import { KubeconfigError } from './errors';
import { loadKubeconfig, messageOf, type KubeClientConfig } from './kubeconfig';

/** Where the kubelet mounts the pod's service-account token and cluster CA. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface InClusterDeps {
  readonly env?: NodeJS.ProcessEnv;
  /** Overridable for tests; production uses SERVICE_ACCOUNT_DIR. */
  readonly serviceAccountDir?: string;
  /** client-go logs (and carries on) when the CA cannot be read; this receives that line. */
  readonly warn?: (message: string) => void;
}

export function loadInClusterConfig(deps: InClusterDeps = {}): KubeClientConfig {
  const env = deps.env ?? process.env;
  const dir = deps.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env['KUBERNETES_SERVICE_HOST'] ?? '';
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '';
  if (host === '' || port === '') {
    throw new KubeconfigError(
      'in-cluster-unavailable',
      'unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined',
    );
  }
  const tokenFile = path.join(dir, 'token');
  try {
    // client-go reads it once up front so a pod without a token fails at start-up, not at first use.
    accessSync(tokenFile, constants.R_OK);
  } catch (err) {
    throw new KubeconfigError(
      'read-failed',
      `reading in-cluster token ${JSON.stringify(tokenFile)}: ${messageOf(err)}`,
      {
        cause: err,
      },
    );
  }
  const caFile = path.join(dir, 'ca.crt');
  let ca: Buffer | undefined;
  try {
    ca = readFileSync(caFile);
  } catch (err) {
    deps.warn?.(`Expected to load root CA config from ${caFile}, but got err: ${messageOf(err)}`);
  }
  // net.JoinHostPort: an IPv6 service host needs brackets.
  const hostPort = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return {
    source: 'in-cluster',
    server: new URL(`https://${hostPort}`),
    tls: { insecureSkipTlsVerify: false, ...(ca && { ca }) },
    credentials: { kind: 'token-file', path: tokenFile },
  };
}

/** `--kubeconfig` when given, else the in-cluster configuration (BuildConfigFromFlags with no master). */
export function loadKubeClientConfig(kubeconfigPath: string, deps: InClusterDeps = {}): KubeClientConfig {
  if (kubeconfigPath !== '') return loadKubeconfig(kubeconfigPath);
  deps.warn?.(
    'Neither --kubeconfig nor --master was specified.  Using the inClusterConfig.  This might not work.',
  );
  return loadInClusterConfig(deps);
}
