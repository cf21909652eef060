// parseServerFlags: command line + environment -> validated, typed ServerOptions (or a help text).

import type { FrontendMode } from '../protocol/frontendModes';
import { type ProxyStrategy, parseProxyStrategies } from '../protocol/proxyStrategies';
import { type ConfigDeps, type ParseFlagsOptions, defaultConfigDeps } from './deps';
import { type CommonOptions, commonOptions } from './commonOptions';
import { ParsedFlags, parseFlags } from './flags';
import { formatHelp } from './formatHelp';
import { serverFlagSpecs } from './serverFlags';
import { usesServiceAccountAuth, validateServerFlags } from './serverValidate';
import {
  DEFAULT_TLS_MIN_VERSION,
  GO_SECURE_CIPHER_SUITES,
  GO_TLS_VERSIONS,
  type NodeTlsVersion,
  isGoTlsVersionName,
} from './tlsNames';

export const SERVER_BINARY_NAME = 'konnectivity-server';

/** Everything the server was told on its command line, validated. Durations in milliseconds. */
export interface ServerOptions extends CommonOptions {
  readonly serverCert: string;
  readonly serverKey: string;
  readonly serverCaCert: string;
  readonly clusterCert: string;
  readonly clusterKey: string;
  readonly clusterCaCert: string;
  readonly mode: FrontendMode;
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
  readonly frontendKeepaliveTimeMs: number;
  readonly serverId: string;
  readonly serverCount: number;
  readonly agentNamespace: string;
  readonly agentServiceAccount: string;
  readonly authenticationAudience: string;
  readonly kubeconfigQps: number;
  readonly kubeconfigBurst: number;
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
  readonly frontendWriteChannelSize: number;
  readonly enableLeaseController: boolean;
  readonly gracefulShutdownTimeoutMs: number;
  /** 0 = no server-side dial timeout. */
  readonly backendDialTimeoutMs: number;
  /** Dials pending at agents at once (--max-dials-in-flight), and waiting for that (--max-dials-waiting). */
  readonly maxDialsInFlight: number;
  readonly maxDialsWaiting: number;
  /** Notices to print at start-up (deprecated or ignored flags, insecure choices). */
  readonly warnings: readonly string[];
}

function buildServerOptions(f: ParsedFlags, deps: ConfigDeps, warnings: readonly string[]): ServerOptions {
  const tlsMin = f.string('tls-min-version');
  const cipherSuites = f.list('cipher-suites');
  const agentTokenAuth = usesServiceAccountAuth(f);
  return {
    ...commonOptions(f, deps),
    serverCert: f.string('server-cert'),
    serverKey: f.string('server-key'),
    serverCaCert: f.string('server-ca-cert'),
    clusterCert: f.string('cluster-cert'),
    clusterKey: f.string('cluster-key'),
    clusterCaCert: f.string('cluster-ca-cert'),
    mode: f.string('mode') as FrontendMode, // validated
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
    frontendKeepaliveTimeMs: f.duration('frontend-keepalive-time'),
    // An explicitly empty id would make every server look alike to agents; treat it as unset.
    serverId: f.string('server-id') === '' ? deps.randomUUID() : f.string('server-id'),
    serverCount: f.int('server-count'),
    agentNamespace: f.string('agent-namespace'),
    agentServiceAccount: f.string('agent-service-account'),
    authenticationAudience: f.string('authentication-audience'),
    kubeconfigQps: f.float('kubeconfig-qps'),
    kubeconfigBurst: f.int('kubeconfig-burst'),
    agentTokenAuth,
    needsKubernetesClient: agentTokenAuth || f.bool('enable-lease-controller'),
    proxyStrategies: parseProxyStrategies(f.string('proxy-strategies')),
    cipherSuites,
    opensslCipherSuites: cipherSuites.map((c) => GO_SECURE_CIPHER_SUITES[c] ?? c),
    tlsMinVersion: isGoTlsVersionName(tlsMin) ? GO_TLS_VERSIONS[tlsMin] : DEFAULT_TLS_MIN_VERSION,
    frontendWriteChannelSize: f.int('frontend-write-channel-size'),
    enableLeaseController: f.bool('enable-lease-controller'),
    gracefulShutdownTimeoutMs: f.duration('graceful-shutdown-timeout'),
    backendDialTimeoutMs: f.duration('backend-dial-timeout'),
    maxDialsInFlight: f.int('max-dials-in-flight'),
    maxDialsWaiting: f.int('max-dials-waiting'),
    warnings,
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
