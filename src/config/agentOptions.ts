// parseAgentFlags: command line + environment -> validated, typed AgentOptions (or a help text).

import { type AllowedDestination, parseAllWith, parseAllowedDestination } from './addresses';
import type { AgentIdentifiers } from '../protocol/agentIdentifiers';
import { parseAgentIdentifiersFlag } from './agentIdentifiers';
import { agentFlagSpecs } from './agentFlags';
import { validateAgentFlags } from './agentValidate';
import { type ConfigDeps, type ParseFlagsOptions, defaultConfigDeps } from './deps';
import { type CommonOptions, commonOptions } from './commonOptions';
import { ParsedFlags, parseFlags } from './flags';
import { formatHelp } from './formatHelp';

export const AGENT_BINARY_NAME = 'konnectivity-agent';

export type ServerCountSource = 'default' | 'max';

/** Everything the agent was told on its command line, validated. Durations in milliseconds. */
export interface AgentOptions extends CommonOptions {
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
  readonly agentId: string;
  /** Sent verbatim as the `agentidentifiers` metadata value. */
  readonly agentIdentifiers: string;
  readonly identifiers: AgentIdentifiers;
  readonly syncIntervalMs: number;
  readonly probeIntervalMs: number;
  readonly syncIntervalCapMs: number;
  readonly syncForever: boolean;
  readonly serviceAccountTokenPath: string;
  readonly warnOnChannelLimit: boolean;
  readonly countServerLeases: boolean;
  readonly leaseLabelSelector: string;
  /** '' is the reference's synonym for 'default'. */
  readonly serverCountSource: ServerCountSource;
  /** --allowed-destinations as given (validated); empty = every destination allowed, as the reference. */
  readonly allowedDestinations: readonly string[];
  /** The same entries parsed. */
  readonly allowedDestinationRules: readonly AllowedDestination[];
  /** Extra server addresses (host:port, [v6]:port) besides --proxy-server-host:--proxy-server-port. */
  readonly proxyServerAddresses: readonly string[];
  /** --link-transport: h2 (default) or grpc-js. */
  readonly linkTransport: 'grpc-js' | 'h2';
  /** Notices to print at start-up (deprecated or ignored flags). */
  readonly warnings: readonly string[];
}

function buildAgentOptions(f: ParsedFlags, deps: ConfigDeps): AgentOptions {
  return {
    ...commonOptions(f, deps),
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
    // The server rejects an empty agentid; treat an explicitly empty flag as unset.
    agentId: f.string('agent-id') === '' ? deps.randomUUID() : f.string('agent-id'),
    agentIdentifiers: f.string('agent-identifiers'),
    identifiers: parseAgentIdentifiersFlag(f.string('agent-identifiers')),
    syncIntervalMs: f.duration('sync-interval'),
    probeIntervalMs: f.duration('probe-interval'),
    syncIntervalCapMs: f.duration('sync-interval-cap'),
    syncForever: f.bool('sync-forever'),
    serviceAccountTokenPath: f.string('service-account-token-path'),
    warnOnChannelLimit: f.bool('warn-on-channel-limit'),
    countServerLeases: f.bool('count-server-leases'),
    leaseLabelSelector: f.string('lease-label-selector'),
    serverCountSource: f.string('server-count-source') === 'max' ? 'max' : 'default',
    allowedDestinations: f.list('allowed-destinations'),
    allowedDestinationRules: parseAllWith(parseAllowedDestination, f.list('allowed-destinations')),
    proxyServerAddresses: f.list('proxy-server-addresses'),
    linkTransport: f.string('link-transport') === 'grpc-js' ? 'grpc-js' : 'h2',
    warnings: f.warnings,
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
