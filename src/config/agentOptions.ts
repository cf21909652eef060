// parseAgentFlags: command line + environment -> validated, typed AgentOptions (or a help text).

import { type AllowedDestination, parseAllWith, parseAllowedDestination } from './addresses';
import { type AgentIdentifiers, parseAgentIdentifiers } from './agentIdentifiers';
import { agentFlagSpecs } from './agentFlags';
import { validateAgentFlags } from './agentValidate';
import { type ConfigDeps, type ParseFlagsOptions, defaultConfigDeps } from './deps';
import { type EventLogConfig, type EventLogSecurity, eventLogSecurity, parseEventLog } from './eventLogFlags';
import { ParsedFlags, parseFlags } from './flags';
import { formatHelp } from './formatHelp';

export const AGENT_BINARY_NAME = 'konnectivity-agent';

export type ServerCountSource = 'default' | 'max';

/** Everything the agent was told on its command line, validated. Durations in milliseconds. */
export interface AgentOptions {
  readonly agentCert: string;
  readonly agentKey: string;
  readonly caCert: string;
  readonly proxyServerHost: string;
  readonly proxyServerPort: number;
  readonly alpnProtos: readonly string[];
  readonly healthServerHost: string;
  readonly healthServerPort: number;
  readonly adminBindAddress: string;
  readonly adminServerPort: number;
  readonly enableProfiling: boolean;
  readonly enableContentionProfiling: boolean;
  readonly agentId: string;
  /** Sent verbatim as the `agentidentifiers` metadata value. */
  readonly agentIdentifiers: string;
  readonly identifiers: AgentIdentifiers;
  readonly syncIntervalMs: number;
  readonly probeIntervalMs: number;
  readonly syncIntervalCapMs: number;
  readonly keepaliveTimeMs: number;
  readonly syncForever: boolean;
  readonly serviceAccountTokenPath: string;
  readonly warnOnChannelLimit: boolean;
  readonly xfrChannelSize: number;
  readonly countServerLeases: boolean;
  readonly leaseNamespace: string;
  readonly leaseLabel: string;
  readonly leaseLabelSelector: string;
  /** '' is the reference's synonym for 'default'. */
  readonly serverCountSource: ServerCountSource;
  readonly kubeconfig: string;
  readonly kubeApiContentType: string;
  /** --allowed-destinations as given (validated); empty = every destination allowed, as the reference. */
  readonly allowedDestinations: readonly string[];
  /** The same entries parsed. */
  readonly allowedDestinationRules: readonly AllowedDestination[];
  /** Extra server addresses (host:port, [v6]:port) besides --proxy-server-host:--proxy-server-port. */
  readonly proxyServerAddresses: readonly string[];
  /** Offer the credit flow-control extension to servers. */
  readonly flowControl: boolean;
  /** --link-transport: grpc-js (default) or h2. */
  readonly linkTransport: 'grpc-js' | 'h2';
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
  /** Notices to print at start-up (deprecated or ignored flags). */
  readonly warnings: readonly string[];
  /** Flags given explicitly (command line or environment), for start-up logging. */
  readonly setFlags: readonly string[];
}

function buildAgentOptions(f: ParsedFlags, deps: ConfigDeps): AgentOptions {
  const dataDir = f.string('data-dir');
  return {
    agentCert: f.string('agent-cert'),
    agentKey: f.string('agent-key'),
    caCert: f.string('ca-cert'),
    proxyServerHost: f.string('proxy-server-host'),
    proxyServerPort: f.int('proxy-server-port'),
    alpnProtos: f.list('alpn-proto'),
    healthServerHost: f.string('health-server-host'),
    healthServerPort: f.int('health-server-port'),
    adminBindAddress: f.string('admin-bind-address'),
    adminServerPort: f.int('admin-server-port'),
    enableProfiling: f.bool('enable-profiling'),
    enableContentionProfiling: f.bool('enable-contention-profiling'),
    // The server rejects an empty agentid; treat an explicitly empty flag as unset.
    agentId: f.string('agent-id') === '' ? deps.randomUUID() : f.string('agent-id'),
    agentIdentifiers: f.string('agent-identifiers'),
    identifiers: parseAgentIdentifiers(f.string('agent-identifiers')),
    syncIntervalMs: f.duration('sync-interval'),
    probeIntervalMs: f.duration('probe-interval'),
    syncIntervalCapMs: f.duration('sync-interval-cap'),
    keepaliveTimeMs: f.duration('keepalive-time'),
    syncForever: f.bool('sync-forever'),
    serviceAccountTokenPath: f.string('service-account-token-path'),
    warnOnChannelLimit: f.bool('warn-on-channel-limit'),
    xfrChannelSize: f.int('xfr-channel-size'),
    countServerLeases: f.bool('count-server-leases'),
    leaseNamespace: f.string('lease-namespace'),
    leaseLabel: f.string('lease-label'),
    leaseLabelSelector: f.string('lease-label-selector'),
    serverCountSource: f.string('server-count-source') === 'max' ? 'max' : 'default',
    kubeconfig: f.string('kubeconfig'),
    kubeApiContentType: f.string('kube-api-content-type'),
    allowedDestinations: f.list('allowed-destinations'),
    allowedDestinationRules: parseAllWith(parseAllowedDestination, f.list('allowed-destinations')),
    proxyServerAddresses: f.list('proxy-server-addresses'),
    flowControl: f.bool('flow-control'),
    linkTransport: f.string('link-transport') === 'h2' ? 'h2' : 'grpc-js',
    inspector: f.bool('inspector'),
    verbosity: f.int('v'),
    eventLog: f.string('event-log'),
    eventLogMaxBytes: f.int('event-log-max-bytes'),
    eventLogLocation: parseEventLog(f.string('event-log'), dataDir),
    eventLogSecurity: eventLogSecurity(f, deps),
    dataDir,
    warnings: f.warnings,
    setFlags: [...f.changed],
  };
}

/**
 * Parses and validates the agent's command line. Throws FlagError (with pflag's or the reference
 * Validate()'s one-line message) on any problem; returns { help } when --help/-h was given.
 */
export function parseAgentFlags(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  options: ParseFlagsOptions = {},
): AgentOptions | { help: string } {
  const deps: ConfigDeps = { ...defaultConfigDeps, ...options.deps };
  const parsed = parseFlags(agentFlagSpecs, argv, env);
  if (!(parsed instanceof ParsedFlags)) {
    return { help: formatHelp(agentFlagSpecs, options.binaryName ?? AGENT_BINARY_NAME) };
  }
  validateAgentFlags(parsed, deps);
  return buildAgentOptions(parsed, deps);
}
