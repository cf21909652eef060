/**
 * The frontend client: what kube-apiserver's konnectivity-client does, for tests, the demo and benchmarks.
 */
export { dialViaGrpc, randomDialId, type GrpcDialOptions, type GrpcTlsOptions } from './grpcTunnel';
export {
  connectRequest,
  dialViaHttpConnect,
  readConnectResponse,
  type HttpConnectDialOptions,
  type HttpConnectTlsOptions,
} from './httpConnectTunnel';
export { CONNECT_ESTABLISHED_HEAD } from './httpResponse';
export { TunnelConnection, MAX_DATA_CHUNK, CLOSE_TIMEOUT_MS } from './tunnelConnection';
export { STREAM_END_GRACE_MS } from './proxyCall';
export { DEFAULT_DIAL_TIMEOUT_MS } from './timeouts';
export {
  DialError,
  GrpcDialError,
  HttpConnectError,
  TunnelError,
  type DialFailureReason,
  type TunnelFailureReason,
} from './errors';
