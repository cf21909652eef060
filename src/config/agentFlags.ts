// The proxy-agent flag set: every flag of the reference's cmd/agent/app/options, then klog's, then
// ours. Help texts are the reference's where its source was available to us; the ones marked
// "(help text ours)" below could not be confirmed and are written to match the flag's behaviour.

import { checkWith, parseAllowedDestination, parseServerAddress } from './addresses';
import { DEFAULT_AGENT_DATA_DIR, eventLogFlagSpecs } from './eventLogFlags';
import type { FlagSpec } from './flagSpec';
import { klogFlagSpecs } from './klogFlags';
import { extensionFlagSpecs, profilingFlagSpecs } from './sharedFlags';
import { checkLabelSelector } from './labelSelector';

const SECOND_MS = 1_000;
const HOUR_MS = 3_600_000;

const NO_GO_CHANNELS =
  'sizes a Go channel of the reference; each of our connections has its own bounded queue';
const NO_LEASES =
  'the agent does not count server leases; it learns the server count from the servercount header';

export const agentReferenceFlagSpecs: readonly FlagSpec[] = [
  {
    name: 'agent-cert',
    kind: 'string',
    default: '',
    help: 'If non-empty secure communication with this cert.',
  },
  {
    name: 'agent-key',
    kind: 'string',
    default: '',
    help: 'If non-empty secure communication with this key.',
  },
  { name: 'ca-cert', kind: 'string', default: '', help: 'If non-empty the CAs we use to validate clients.' },
  {
    name: 'proxy-server-host',
    kind: 'string',
    default: '127.0.0.1',
    help: 'The hostname to use to connect to the proxy-server.',
  },
  {
    name: 'proxy-server-port',
    kind: 'port',
    default: 8091,
    help: 'The port the proxy server is listening on.',
  },
  {
    name: 'alpn-proto',
    kind: 'stringList',
    default: [],
    help: 'Additional ALPN protocols to be presented when connecting to the server. Useful to distinguish between network proxy and apiserver connections that share the same destination address.',
  },
  {
    name: 'health-server-host',
    kind: 'string',
    default: '',
    help: 'The host address to listen on, without port.',
  },
  {
    name: 'health-server-port',
    kind: 'port',
    default: 8093,
    help: 'The port the health server is listening on.',
  },
  {
    name: 'admin-bind-address',
    kind: 'string',
    default: '127.0.0.1',
    help: 'The address the admin server listens on, without port. (help text ours)',
  },
  {
    name: 'admin-server-port',
    kind: 'port',
    default: 8094,
    help: 'The port the admin server is listening on.',
  },
  ...profilingFlagSpecs,
  {
    name: 'agent-id',
    kind: 'string',
    default: '',
    env: 'PROXY_AGENT_ID',
    help: 'The unique ID of this agent. Default to a generated uuid if not set.',
  },
  {
    name: 'sync-interval',
    kind: 'duration',
    default: SECOND_MS,
    help: 'The initial interval by which the agent periodically checks if it has connections to all instances of the proxy server.',
  },
  {
    name: 'probe-interval',
    kind: 'duration',
    default: SECOND_MS,
    help: 'The interval by which the agent periodically checks if its connections to the proxy server are ready.',
  },
  {
    name: 'sync-interval-cap',
    kind: 'duration',
    default: 10 * SECOND_MS,
    help: 'The maximum interval for the SyncInterval to back off to when unable to connect to the proxy server',
  },
  {
    name: 'keepalive-time',
    kind: 'duration',
    default: HOUR_MS,
    help: 'Time for gRPC agent server keepalive.',
  },
  {
    name: 'service-account-token-path',
    kind: 'string',
    default: '',
    help: 'If non-empty proxy agent uses this token to prove its identity to the proxy server.',
  },
  {
    name: 'agent-identifiers',
    kind: 'string',
    default: '',
    help: 'Identifiers of the agent that will be used by the server when choosing agent. N.B. the list of identifiers must be in URL encoded format. e.g.,host=localhost&host=node1.mydomain.com&cidr=127.0.0.1/16&ipv4=1.2.3.4&ipv4=5.6.7.8&ipv6=:::::&default-route=true',
  },
  {
    name: 'warn-on-channel-limit',
    kind: 'bool',
    default: false,
    help: 'Turns on a warning if the system is going to push to a full channel. The check involves an unsafe read.',
    compatOnly: NO_GO_CHANNELS,
  },
  {
    name: 'sync-forever',
    kind: 'bool',
    default: false,
    help: 'If true, the agent continues syncing, in order to support server count changes.',
  },
  {
    name: 'xfr-channel-size',
    kind: 'int',
    default: 150,
    help: 'Set the size of the channel for transferring data between the agent and the proxy server.',
    compatOnly: NO_GO_CHANNELS,
  },
  {
    name: 'count-server-leases',
    kind: 'bool',
    default: false,
    help: 'Enables lease counting system to determine the number of proxy servers to connect to.',
    compatOnly: NO_LEASES,
  },
  {
    name: 'lease-namespace',
    kind: 'string',
    default: 'kube-system',
    help: 'Namespace where lease objects are managed.',
    compatOnly: NO_LEASES,
  },
  {
    name: 'lease-label',
    kind: 'string',
    default: 'k8s-app=konnectivity-server',
    check: checkLabelSelector,
    help: 'The labels on which the lease objects are managed.',
    compatOnly: NO_LEASES,
  },
  {
    name: 'lease-label-selector',
    kind: 'string',
    default: 'k8s-app=konnectivity-server',
    check: checkLabelSelector,
    help: 'Label selector for leases to take into account when counting servers.',
    compatOnly: NO_LEASES,
  },
  {
    name: 'server-count-source',
    kind: 'string',
    default: 'default',
    help: "How the agent decides how many servers to connect to: 'default' or 'max' (the larger of the servers' servercount header and the lease count). (help text ours)",
    compatOnly: NO_LEASES,
  },
  {
    name: 'kubeconfig',
    kind: 'string',
    default: '',
    help: 'Path to the kubeconfig used to watch server leases; in-cluster configuration when empty. (help text ours)',
    compatOnly: NO_LEASES,
  },
  {
    name: 'kube-api-content-type',
    kind: 'string',
    default: 'application/vnd.kubernetes.protobuf',
    help: 'Content type of requests sent to apiserver.',
    compatOnly: NO_LEASES,
  },
  {
    // Passed to agents by some of the reference's own e2e manifests; not in its options.go.
    name: 'server-count',
    kind: 'int',
    default: 0,
    help: 'Accepted for manifests that pass it to agents; the server count comes from the servers. (help text ours)',
    compatOnly: 'the agent learns the server count from the servercount header',
  },
];

export const agentExtensionFlagSpecs: readonly FlagSpec[] = [
  {
    name: 'allowed-destinations',
    kind: 'stringList',
    default: [],
    check: checkWith(parseAllowedDestination),
    help:
      'Destinations this agent will dial, as CIDR[:port-range] entries (e.g. 10.0.0.0/8:10250, 192.168.1.5, ' +
      '[fd00::/8]:10250-10255). Empty allows every destination, as the reference does.',
  },
  {
    name: 'proxy-server-addresses',
    kind: 'stringList',
    default: [],
    check: checkWith(parseServerAddress),
    help:
      'Additional proxy-server addresses (host:port, [v6]:port) dialed besides ' +
      '--proxy-server-host:--proxy-server-port, for HA without a load balancer.',
  },
  {
    name: 'link-transport',
    kind: 'string',
    default: 'h2',
    check: (v: string) =>
      v === 'grpc-js' || v === 'h2' ? undefined : `${JSON.stringify(v)} is not grpc-js or h2`,
    help:
      'The gRPC client of the links to proxy servers: h2 (our node:http2 client: one HTTP/2 connection per ' +
      'server, --alpn-proto honoured, grpc-js not loaded), or grpc-js.',
  },
];

export const agentFlagSpecs: readonly FlagSpec[] = [
  ...agentReferenceFlagSpecs,
  ...agentExtensionFlagSpecs,
  ...klogFlagSpecs,
  ...eventLogFlagSpecs(DEFAULT_AGENT_DATA_DIR),
  ...extensionFlagSpecs,
];
