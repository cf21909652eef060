// The proxy-server flag set: every flag of the reference's cmd/server/app/options (names, types,
// defaults and help texts copied from it), then klog's, then ours.

import { admissionFlagSpecs } from './admissionFlags';
import { DEFAULT_SERVER_DATA_DIR, eventLogFlagSpecs } from './eventLogFlags';
import type { FlagSpec } from './flagSpec';
import { klogFlagSpecs } from './klogFlags';
import { extensionFlagSpecs, profilingFlagSpecs } from './sharedFlags';

const HOUR_MS = 3_600_000;

const NO_GO_CHANNELS =
  'sizes Go channels of the reference; each of our connections has its own bounded queue with backpressure';
const NO_LEASES =
  'server leases are not published; agents learn the server count from the servercount header';

const string = (name: string, help: string, extra: { env?: string } = {}): FlagSpec => ({
  name,
  kind: 'string',
  default: '',
  help,
  ...extra,
});

export const serverReferenceFlagSpecs: readonly FlagSpec[] = [
  string('server-cert', 'If non-empty secure communication with this cert.'),
  string('server-key', 'If non-empty secure communication with this key.'),
  string('server-ca-cert', 'If non-empty the CA we use to validate KAS clients.'),
  string('cluster-cert', 'If non-empty secure communication with this cert.'),
  string('cluster-key', 'If non-empty secure communication with this key.'),
  string('cluster-ca-cert', 'If non-empty the CA we use to validate Agent clients.'),
  { name: 'mode', kind: 'string', default: 'grpc', help: "mode can be either 'grpc' or 'http-connect'." },
  string('uds-name', 'uds-name should be empty for TCP traffic. For UDS set to its name.'),
  {
    name: 'delete-existing-uds-file',
    kind: 'bool',
    default: true,
    help: 'If true and if file UdsName already exists, delete the file before listen on that UDS file. Default is true.',
  },
  {
    name: 'server-port',
    kind: 'port',
    default: 8090,
    help: 'Port we listen for server connections on. Set to 0 for UDS.',
  },
  string(
    'server-bind-address',
    'Bind address for server connections. If empty, we will bind to all interfaces.',
  ),
  { name: 'agent-port', kind: 'port', default: 8091, help: 'Port we listen for agent connections on.' },
  string(
    'agent-bind-address',
    'Bind address for agent connections. If empty, we will bind to all interfaces.',
  ),
  { name: 'admin-port', kind: 'port', default: 8095, help: 'Port we listen for admin connections on.' },
  {
    name: 'admin-bind-address',
    kind: 'string',
    default: '127.0.0.1',
    help: 'Bind address for admin connections. If empty, we will bind to localhost.',
  },
  { name: 'health-port', kind: 'port', default: 8092, help: 'Port we listen for health connections on.' },
  string(
    'health-bind-address',
    'Bind address for health connections. If empty, we will bind to all interfaces.',
  ),
  {
    name: 'keepalive-time',
    kind: 'duration',
    default: HOUR_MS,
    help: 'Time for gRPC agent server keepalive.',
  },
  {
    name: 'frontend-keepalive-time',
    kind: 'duration',
    default: HOUR_MS,
    help: 'Time for gRPC frontend server keepalive.',
  },
  ...profilingFlagSpecs,
  string(
    'server-id',
    "The unique ID of this server. Can also be set by the 'PROXY_SERVER_ID' environment variable. " +
      '(Default: a random UUID.)',
    { env: 'PROXY_SERVER_ID' },
  ),
  {
    name: 'server-count',
    kind: 'int',
    default: 1,
    help: 'The number of proxy server instances, should be 1 unless it is an HA server.',
  },
  string(
    'agent-namespace',
    "Expected agent's namespace during agent authentication (used with agent-service-account, authentication-audience, kubeconfig).",
  ),
  string(
    'agent-service-account',
    "Expected agent's service account during agent authentication (used with agent-namespace, authentication-audience, kubeconfig).",
  ),
  string(
    'kubeconfig',
    'absolute path to the kubeconfig file (used with agent-namespace, agent-service-account, authentication-audience).',
  ),
  {
    name: 'kubeconfig-qps',
    kind: 'float',
    default: 0,
    help: 'Maximum client QPS (proxy server uses this client to authenticate agent tokens).',
  },
  {
    name: 'kubeconfig-burst',
    kind: 'int',
    default: 0,
    help: 'Maximum client burst (proxy server uses this client to authenticate agent tokens).',
  },
  {
    name: 'kube-api-content-type',
    kind: 'string',
    default: 'application/vnd.kubernetes.protobuf',
    help:
      'Content type of requests sent to apiserver. TokenReviews are always sent as JSON; protobuf is ' +
      'accepted here and logged, any other value is refused.',
  },
  string(
    'authentication-audience',
    "Expected agent's token authentication audience (used with agent-namespace, agent-service-account, kubeconfig).",
  ),
  {
    name: 'proxy-strategies',
    kind: 'string',
    default: 'default',
    help: 'The list of proxy strategies used by the server to pick an agent/tunnel, available strategies are: default, destHost, defaultRoute.',
  },
  {
    name: 'cipher-suites',
    kind: 'stringList',
    default: [],
    help: 'The comma separated list of allowed cipher suites. Has no effect on TLS1.3. Empty means allow default list.',
  },
  string(
    'tls-min-version',
    'Minimum TLS version for server connections. Accepted values: VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13. Empty defaults to VersionTLS12.',
  ),
  {
    name: 'xfr-channel-size',
    kind: 'int',
    default: 10,
    help: 'The size of the two KNP server channels used in server for transferring data. One channel is for data coming from the Kubernetes API Server, and the other one is for data coming from the KNP agent.',
    compatOnly: NO_GO_CHANNELS,
  },
  {
    name: 'frontend-write-channel-size',
    kind: 'int',
    default: 10,
    help: 'The number of packets buffered for each HTTP CONNECT frontend before backend receive processing blocks.',
    compatOnly: NO_GO_CHANNELS,
  },
  {
    name: 'enable-lease-controller',
    kind: 'bool',
    default: false,
    help: 'Enable lease controller to publish and garbage collect proxy server leases.',
    compatOnly: NO_LEASES,
  },
  {
    name: 'lease-namespace',
    kind: 'string',
    default: 'kube-system',
    help: 'The namespace where lease objects are managed by the controller.',
    compatOnly: NO_LEASES,
  },
  {
    name: 'lease-label',
    kind: 'string',
    default: 'k8s-app=konnectivity-server',
    help: 'The labels on which the lease objects are managed.',
    compatOnly: NO_LEASES,
  },
  {
    name: 'graceful-shutdown-timeout',
    kind: 'duration',
    default: 0,
    help: 'Timeout duration for graceful shutdown of the server. The server will wait for active connections to close before forcefully terminating. Set to 0 to disable graceful shutdown (default: 0).',
  },
  {
    name: 'backend-dial-timeout',
    kind: 'duration',
    default: 0,
    help: 'Timeout duration for sending DIAL_REQ packets to backend agent streams and waiting for DIAL_RSP. Set to 0 to disable timeout (default: 0).',
  },
  {
    name: 'warn-on-channel-limit',
    kind: 'bool',
    default: true,
    help: 'This behavior is now thread safe and always on. This flag will be removed in a future release.',
    deprecated:
      'This behavior is now thread safe and always on. This flag will be removed in a future release.',
    compatOnly: NO_GO_CHANNELS,
  },
];

export const serverFlagSpecs: readonly FlagSpec[] = [
  ...serverReferenceFlagSpecs,
  ...klogFlagSpecs,
  ...eventLogFlagSpecs(DEFAULT_SERVER_DATA_DIR),
  ...extensionFlagSpecs,
  ...admissionFlagSpecs,
];
