/**
 * The command lines Kamaji (clastix/kamaji) gives Konnectivity, rebuilt the way Kamaji builds them so tests
 * and manifests can be checked against exactly that:
 *
 * - server sidecar (internal/builders/controlplane/konnectivity_server.go): `Command: ["/proxy-server"]`;
 *   the TenantControlPlane's `server.extraArgs` go into a map first, then Kamaji's own flags are set over
 *   them, so Kamaji's values win;
 * - agent DaemonSet (internal/resources/konnectivity/agent.go): `Command: ["/proxy-agent"]`; Kamaji's flags
 *   first, then `agent.extraArgs` over them, so the user's values win.
 *
 * Both render the map as `--flag=value` (a bare `--flag` for an empty value), sorted
 * (internal/utilities: ArgsFromSliceToMap / ArgsFromMapToSlice). Only values that name files, addresses or
 * ports of the machine running the test are parameters; flag names, their order and every other value
 * are Kamaji's.
 */

/** `--flag=value` split at the first `=`, as Kamaji's ArgsFromSliceToMap does. */
function toMap(args: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const arg of args) {
    const eq = arg.indexOf('=');
    m.set(eq === -1 ? arg : arg.slice(0, eq), eq === -1 ? '' : arg.slice(eq + 1));
  }
  return m;
}

/** Kamaji's ArgsFromMapToSlice: `flag=value` or a bare flag, sorted by Go's byte-wise sort.Strings. */
function toSlice(m: ReadonlyMap<string, string>): string[] {
  const out = [...m].map(([flag, value]) => (value === '' ? flag : `${flag}=${value}`));
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The TenantControlPlane's default `addons.konnectivity.server.port`. */
export const KAMAJI_AGENT_PORT = 8132;
/** Kamaji hard-codes these for both server and agent. */
export const KAMAJI_ADMIN_PORT = 8133;
export const KAMAJI_HEALTH_PORT = 8134;
/** Where Kamaji mounts the server's socket directory (an emptyDir shared with kube-apiserver). */
export const KAMAJI_UDS_DIR = '/run/konnectivity';

export interface KamajiServerParams {
  readonly udsDir?: string;
  readonly clusterCert?: string;
  readonly clusterKey?: string;
  readonly kubeconfig?: string;
  readonly agentPort?: number;
  readonly adminPort?: number;
  readonly healthPort?: number;
  /** The control plane Deployment's replicas. */
  readonly replicas?: number;
  /** `spec.addons.konnectivity.server.extraArgs`. */
  readonly extraArgs?: readonly string[];
}

export function kamajiServerArgs(p: KamajiServerParams = {}): string[] {
  const args = toMap(p.extraArgs ?? []);
  args.set('--uds-name', `${p.udsDir ?? KAMAJI_UDS_DIR}/konnectivity-server.socket`);
  args.set('--cluster-cert', p.clusterCert ?? '/etc/kubernetes/pki/apiserver.crt');
  args.set('--cluster-key', p.clusterKey ?? '/etc/kubernetes/pki/apiserver.key');
  args.set('--mode', 'grpc');
  args.set('--server-port', '0');
  args.set('--agent-port', String(p.agentPort ?? KAMAJI_AGENT_PORT));
  args.set('--admin-port', String(p.adminPort ?? KAMAJI_ADMIN_PORT));
  args.set('--health-port', String(p.healthPort ?? KAMAJI_HEALTH_PORT));
  args.set('--agent-namespace', 'kube-system');
  args.set('--agent-service-account', 'konnectivity-agent');
  args.set('--kubeconfig', p.kubeconfig ?? '/etc/kubernetes/konnectivity-server.conf');
  args.set('--authentication-audience', 'system:konnectivity-server');
  args.set('--server-count', String(p.replicas ?? 1));
  return toSlice(args);
}

export interface KamajiAgentParams {
  /** The tenant control plane's address (an IP or a host name). */
  readonly proxyServerHost?: string;
  readonly proxyServerPort?: number;
  readonly caCert?: string;
  readonly adminPort?: number;
  readonly healthPort?: number;
  readonly tokenPath?: string;
  /** `spec.addons.konnectivity.agent.extraArgs`. */
  readonly extraArgs?: readonly string[];
}

export function kamajiAgentArgs(p: KamajiAgentParams = {}): string[] {
  const args = new Map<string, string>([
    ['-v', '8'],
    ['--logtostderr', 'true'],
    ['--ca-cert', p.caCert ?? '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt'],
    ['--proxy-server-host', p.proxyServerHost ?? '203.0.113.10'],
    ['--proxy-server-port', String(p.proxyServerPort ?? KAMAJI_AGENT_PORT)],
    ['--admin-server-port', String(p.adminPort ?? KAMAJI_ADMIN_PORT)],
    ['--health-server-port', String(p.healthPort ?? KAMAJI_HEALTH_PORT)],
    ['--service-account-token-path', p.tokenPath ?? '/var/run/secrets/tokens/konnectivity-agent-token'],
  ]);
  for (const [flag, value] of toMap(p.extraArgs ?? [])) args.set(flag, value);
  return toSlice(args);
}
