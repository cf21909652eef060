// parseServerFlags: command line + environment -> validated, typed ServerOptions (or a help text).

import { type ConfigDeps, type ParseFlagsOptions, defaultConfigDeps } from './deps';
import { type EventLogConfig, type EventLogSecurity, eventLogSecurity, parseEventLog } from './eventLogFlags';
import { ParsedFlags, parseFlags } from './flags';
import { formatHelp } from './formatHelp';
import { serverFlagSpecs } from './serverFlags';
import {
  type ProxyStrategy,
  parseProxyStrategies,
  usesServiceAccountAuth,
  validateServerFlags,
} from './serverValidate';
import {
  DEFAULT_TLS_MIN_VERSION,
  GO_SECURE_CIPHER_SUITES,
  GO_TLS_VERSIONS,
  type NodeTlsVersion,
  isGoTlsVersionName,
} from './tlsNames';

export type { ProxyStrategy } from './serverValidate';
export type ServerMode = 'grpc' | 'http-connect';

export const SERVER_BINARY_NAME = 'konnectivity-server';

/** Everything the server was told on its command line, validated. Durations in milliseconds. */
export interface ServerOptions {
  readonly serverCert: string;
  readonly serverKey: string;
  readonly serverCaCert: string;
  readonly clusterCert: string;
  readonly clusterKey: string;
  readonly clusterCaCert: string;
  readonly mode: ServerMode;
  /** Frontend Unix socket path; empty means the frontend listens on TCP (mTLS) at serverPort. */
  readonly udsName: string;
  readonly deleteExistingUdsFile: boolean;
  readonly serverPort: number;
  readonly serverBindAddress: string;
  readonly agentPort: number;
  readonly agentBindAddress: string;
  readonly adminPort: number;
  readonly adminBindAddress: string;
  readonly healthPort: number;
  readonly healthBindAddress: string;
  readonly keepaliveTimeMs: number;
  readonly frontendKeepaliveTimeMs: number;
  readonly enableProfiling: boolean;
  readonly enableContentionProfiling: boolean;
  readonly serverId: string;
  readonly serverCount: number;
  readonly agentNamespace: string;
  readonly agentServiceAccount: string;
  readonly authenticationAudience: string;
  readonly kubeconfig: string;
  readonly kubeconfigQps: number;
  readonly kubeconfigBurst: number;
  readonly kubeApiContentType: string;
  /** Agents authenticate with a service-account token checked by TokenReview. */
  readonly agentTokenAuth: boolean;
  /** The reference's NeedsKubernetesClient: token auth or the lease controller. */
  readonly needsKubernetesClient: boolean;
  readonly proxyStrategies: readonly ProxyStrategy[];
  /** Go names as given; empty means the default list. */
  readonly cipherSuites: readonly string[];
  /** The same suites with OpenSSL names, for tls.createSecureContext({ ciphers }). */
  readonly opensslCipherSuites: readonly string[];
  readonly tlsMinVersion: NodeTlsVersion;
  readonly xfrChannelSize: number;
  readonly frontendWriteChannelSize: number;
  readonly enableLeaseController: boolean;
  readonly leaseNamespace: string;
  readonly leaseLabel: string;
  readonly gracefulShutdownTimeoutMs: number;
  /** 0 = no server-side dial timeout. */
  readonly backendDialTimeoutMs: number;
  /** Offer the credit flow-control extension to agents. */
  readonly flowControl: boolean;
  /** Serve the live inspector on the admin port. */
  readonly inspector: boolean;
  /** klog -v. */
  readonly verbosity: number;
  /** --event-log as given (validated): what src/persistence's openEventLog takes. */
  readonly eventLog: string;
  /** --event-log-max-bytes: the embedded log's size bound. */
  readonly eventLogMaxBytes: number;
  /** --event-log resolved against --data-dir. */
  readonly eventLogLocation: EventLogConfig;
  /** --event-log-tls-* and --event-log-creds, checked. */
  readonly eventLogSecurity: EventLogSecurity;
  readonly dataDir: string;
  /** Notices to print at start-up (deprecated or ignored flags, insecure choices). */
  readonly warnings: readonly string[];
  /** Flags given explicitly (command line or environment), for start-up logging. */
  readonly setFlags: readonly string[];
}

function buildServerOptions(f: ParsedFlags, deps: ConfigDeps, warnings: readonly string[]): ServerOptions {
  const tlsMin = f.string('tls-min-version');
  const cipherSuites = f.list('cipher-suites');
  const dataDir = f.string('data-dir');
  const agentTokenAuth = usesServiceAccountAuth(f);
  return {
    serverCert: f.string('server-cert'),
    serverKey: f.string('server-key'),
    serverCaCert: f.string('server-ca-cert'),
    clusterCert: f.string('cluster-cert'),
    clusterKey: f.string('cluster-key'),
    clusterCaCert: f.string('cluster-ca-cert'),
    mode: f.string('mode') as ServerMode, // validated
    udsName: f.string('uds-name'),
    deleteExistingUdsFile: f.bool('delete-existing-uds-file'),
    serverPort: f.int('server-port'),
    serverBindAddress: f.string('server-bind-address'),
    agentPort: f.int('agent-port'),
    agentBindAddress: f.string('agent-bind-address'),
    adminPort: f.int('admin-port'),
    adminBindAddress: f.string('admin-bind-address'),
    healthPort: f.int('health-port'),
    healthBindAddress: f.string('health-bind-address'),
    keepaliveTimeMs: f.duration('keepalive-time'),
    frontendKeepaliveTimeMs: f.duration('frontend-keepalive-time'),
    enableProfiling: f.bool('enable-profiling'),
    enableContentionProfiling: f.bool('enable-contention-profiling'),
    // An explicitly empty id would make every server look alike to agents; treat it as unset.
    serverId: f.string('server-id') === '' ? deps.randomUUID() : f.string('server-id'),
    serverCount: f.int('server-count'),
    agentNamespace: f.string('agent-namespace'),
    agentServiceAccount: f.string('agent-service-account'),
    authenticationAudience: f.string('authentication-audience'),
    kubeconfig: f.string('kubeconfig'),
    kubeconfigQps: f.float('kubeconfig-qps'),
    kubeconfigBurst: f.int('kubeconfig-burst'),
    kubeApiContentType: f.string('kube-api-content-type'),
    agentTokenAuth,
    needsKubernetesClient: agentTokenAuth || f.bool('enable-lease-controller'),
    proxyStrategies: parseProxyStrategies(f.string('proxy-strategies')),
    cipherSuites,
    opensslCipherSuites: cipherSuites.map((c) => GO_SECURE_CIPHER_SUITES[c] ?? c),
    tlsMinVersion: isGoTlsVersionName(tlsMin) ? GO_TLS_VERSIONS[tlsMin] : DEFAULT_TLS_MIN_VERSION,
    xfrChannelSize: f.int('xfr-channel-size'),
    frontendWriteChannelSize: f.int('frontend-write-channel-size'),
    enableLeaseController: f.bool('enable-lease-controller'),
    leaseNamespace: f.string('lease-namespace'),
    leaseLabel: f.string('lease-label'),
    gracefulShutdownTimeoutMs: f.duration('graceful-shutdown-timeout'),
    backendDialTimeoutMs: f.duration('backend-dial-timeout'),
    flowControl: f.bool('flow-control'),
    inspector: f.bool('inspector'),
    verbosity: f.int('v'),
    eventLog: f.string('event-log'),
    eventLogMaxBytes: f.int('event-log-max-bytes'),
    eventLogLocation: parseEventLog(f.string('event-log'), dataDir),
    eventLogSecurity: eventLogSecurity(f, deps),
    dataDir,
    warnings,
    setFlags: [...f.changed],
  };
}

/**
 * Parses and validates the server's command line. Throws FlagError (with pflag's or the reference
 * Validate()'s one-line message) on any problem; returns { help } when --help/-h was given.
 */
export function parseServerFlags(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  options: ParseFlagsOptions = {},
): ServerOptions | { help: string } {
  const deps: ConfigDeps = { ...defaultConfigDeps, ...options.deps };
  const parsed = parseFlags(serverFlagSpecs, argv, env);
  if (!(parsed instanceof ParsedFlags)) {
    return { help: formatHelp(serverFlagSpecs, options.binaryName ?? SERVER_BINARY_NAME) };
  }
  const validationWarnings = validateServerFlags(parsed, deps);
  return buildServerOptions(parsed, deps, [...parsed.warnings, ...validationWarnings]);
}
