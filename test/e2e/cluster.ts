/**
 * Starts real `bin/konnectivity-server` and `bin/konnectivity-agent` processes on loopback for end-to-end
 * tests, with the flags a Kubernetes deployment would pass, and dials through them like kube-apiserver.
 */
import * as path from 'path';
import { dialViaGrpc } from '../../src/client/grpcTunnel';
import { dialViaHttpConnect } from '../../src/client/httpConnectTunnel';
import type { TunnelConnection } from '../../src/client/tunnelConnection';
import type { Socket } from 'net';
import { scrapeMetrics, type Metrics } from '../helpers/metrics';
import { freePorts } from '../helpers/ports';
import { startProcess, type ManagedProcess } from '../helpers/processes';
import type { TlsDir } from '../helpers/tls';

const ROOT = path.join(__dirname, '../..');
export const SERVER_BIN = path.join(ROOT, 'bin/konnectivity-server');
export const AGENT_BIN = path.join(ROOT, 'bin/konnectivity-agent');

export type Mode = 'grpc' | 'http-connect';
export type FrontendTransport = 'uds' | 'mtls';

export interface ServerOptions {
  mode: Mode;
  transport?: FrontendTransport;
  serverId?: string;
  extraArgs?: string[];
  /** Reuse these ports (a restart keeps its ports, as a real deployment does). */
  ports?: ServerPorts;
  /** Run the executables of another checkout's bin/ (the benchmark runs a snapshot of the build). */
  binDir?: string;
  /** Added to the environment (the benchmark preloads its memory hook through NODE_OPTIONS). */
  env?: NodeJS.ProcessEnv;
  /** Where the server keeps its event log; a fresh directory under `workDir` by default. */
  dataDir?: string;
}

export interface ServerPorts {
  agent: number;
  admin: number;
  health: number;
  frontend: number;
}

export interface RunningTestServer {
  readonly process: ManagedProcess;
  readonly mode: Mode;
  readonly transport: FrontendTransport;
  readonly ports: ServerPorts;
  readonly socketPath: string;
  readonly dataDir: string;
  readonly args: string[];
  /** Opens a tunnel to `address` the way kube-apiserver would in this server's mode. */
  dial(address: string, timeoutMs?: number): Promise<TunnelConnection | Socket>;
  metrics(): Promise<Metrics>;
  healthUrl(path: string): string;
}

export async function startServer(
  tls: TlsDir,
  workDir: string,
  opts: ServerOptions,
): Promise<RunningTestServer> {
  const transport = opts.transport ?? 'uds';
  const [agent, admin, health, frontend] = await freePorts(4);
  const ports = opts.ports ?? { agent: agent!, admin: admin!, health: health!, frontend: frontend! };
  const socketPath = path.join(workDir, `server-${ports.agent}.sock`);
  const dataDir = opts.dataDir ?? path.join(workDir, `server-data-${ports.agent}`);
  const frontendArgs =
    transport === 'uds'
      ? [`--uds-name=${socketPath}`, '--delete-existing-uds-file=true', '--server-port=0']
      : [
          `--server-port=${ports.frontend}`,
          '--server-bind-address=127.0.0.1',
          `--server-cert=${tls.serverCert}`,
          `--server-key=${tls.serverKey}`,
          `--server-ca-cert=${tls.caCert}`,
        ];
  const args = [
    `--mode=${opts.mode}`,
    ...frontendArgs,
    `--cluster-cert=${tls.clusterCert}`,
    `--cluster-key=${tls.clusterKey}`,
    `--agent-port=${ports.agent}`,
    '--agent-bind-address=127.0.0.1',
    `--admin-port=${ports.admin}`,
    `--health-port=${ports.health}`,
    '--health-bind-address=127.0.0.1',
    `--server-id=${opts.serverId ?? `server-${ports.agent}`}`,
    `--data-dir=${dataDir}`,
    ...(opts.extraArgs ?? []),
  ];
  const bin = opts.binDir ? path.join(opts.binDir, 'konnectivity-server') : SERVER_BIN;
  const proc = startProcess(bin, args, {
    name: `server:${opts.serverId ?? ports.agent}`,
    ...(opts.env ? { env: opts.env } : {}),
  });
  await proc.waitForHttp(`http://127.0.0.1:${ports.health}/healthz`);
  const frontendTls = {
    ca: tls.pems.ca.cert,
    cert: tls.pems.frontendClient.cert,
    key: tls.pems.frontendClient.key,
  };
  return {
    process: proc,
    mode: opts.mode,
    transport,
    ports,
    socketPath,
    dataDir,
    args,
    dial: (address, timeoutMs = 10_000) => {
      if (opts.mode === 'grpc') {
        return transport === 'uds'
          ? dialViaGrpc({ target: `unix://${socketPath}`, address, timeoutMs })
          : dialViaGrpc({
              target: `127.0.0.1:${ports.frontend}`,
              tls: { ...frontendTls, servername: 'localhost' },
              address,
              timeoutMs,
            });
      }
      return transport === 'uds'
        ? dialViaHttpConnect({ socketPath, address, timeoutMs })
        : dialViaHttpConnect({
            host: '127.0.0.1',
            port: ports.frontend,
            tls: { ...frontendTls, servername: 'localhost' },
            address,
            timeoutMs,
          });
    },
    metrics: () => scrapeMetrics(`http://127.0.0.1:${ports.health}/metrics`),
    healthUrl: (p) => `http://127.0.0.1:${ports.health}${p}`,
  };
}

export interface AgentOptions {
  agentId: string;
  /** Dial this port instead of the server's agent port (a load balancer in front of several servers). */
  proxyPort?: number;
  identifiers?: string;
  extraArgs?: string[];
  /** As in ServerOptions. */
  binDir?: string;
  env?: NodeJS.ProcessEnv;
}

export interface RunningTestAgent {
  readonly process: ManagedProcess;
  readonly healthPort: number;
  readonly adminPort: number;
  readonly dataDir: string;
  readonly args: string[];
  metrics(): Promise<Metrics>;
  healthUrl(path: string): string;
}

export async function startAgent(
  tls: TlsDir,
  workDir: string,
  server: RunningTestServer,
  opts: AgentOptions,
): Promise<RunningTestAgent> {
  const [health, admin] = await freePorts(2);
  const dataDir = path.join(workDir, `agent-data-${opts.agentId}-${health}`);
  const args = [
    `--ca-cert=${tls.caCert}`,
    '--proxy-server-host=localhost',
    `--proxy-server-port=${opts.proxyPort ?? server.ports.agent}`,
    `--health-server-port=${health}`,
    '--health-server-host=127.0.0.1',
    `--admin-server-port=${admin}`,
    `--agent-id=${opts.agentId}`,
    `--agent-identifiers=${opts.identifiers ?? ''}`,
    '--sync-interval=200ms',
    '--sync-interval-cap=1s',
    `--data-dir=${dataDir}`,
    ...(opts.extraArgs ?? []),
  ];
  const bin = opts.binDir ? path.join(opts.binDir, 'konnectivity-agent') : AGENT_BIN;
  const proc = startProcess(bin, args, {
    name: `agent:${opts.agentId}`,
    ...(opts.env ? { env: opts.env } : {}),
  });
  await proc.waitForHttp(`http://127.0.0.1:${health}/healthz`);
  return {
    process: proc,
    healthPort: health!,
    adminPort: admin!,
    dataDir,
    args,
    metrics: () => scrapeMetrics(`http://127.0.0.1:${health}/metrics`),
    healthUrl: (p) => `http://127.0.0.1:${health}${p}`,
  };
}

export const OPEN_SERVER_CONNECTIONS = 'konnectivity_network_proxy_agent_open_server_connections';
export const OPEN_ENDPOINT_CONNECTIONS = 'konnectivity_network_proxy_agent_open_endpoint_connections';
export const READY_BACKENDS = 'konnectivity_network_proxy_server_ready_backend_connections';
export const ACTORS = 'konnectivity_ts_actors';

/** Live actors of every kind but the long-lived ones (tunnels, server links, the agent's sync loop). */
export function transientActors(m: Metrics): number {
  return m
    .all(ACTORS)
    .filter((s) => !['agentTunnel', 'serverLink', 'syncLoop'].includes(s.labels['kind'] ?? ''))
    .reduce((n, s) => n + s.value, 0);
}

/** Starts the agent binary against any server port (a fake one, in tests of what the agent sends). */
export async function startAgentAt(
  tls: TlsDir,
  workDir: string,
  port: number,
  agentId: string,
  extraArgs: string[] = [],
): Promise<ManagedProcess> {
  const [health, admin] = await freePorts(2);
  return startProcess(
    AGENT_BIN,
    [
      `--ca-cert=${tls.caCert}`,
      '--proxy-server-host=localhost',
      `--proxy-server-port=${port}`,
      `--health-server-port=${health}`,
      `--admin-server-port=${admin}`,
      `--agent-id=${agentId}`,
      '--sync-interval=100ms',
      `--data-dir=${path.join(workDir, `agent-data-${agentId}-${health}`)}`,
      ...extraArgs,
    ],
    { name: `agent:${agentId}` },
  );
}
