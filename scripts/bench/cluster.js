/**
 * A real konnectivity-server (frontend on a Unix socket, agent port with TLS) and optionally one real
 * konnectivity-agent, started from bin/ with the flags the e2e tests pass (test/e2e/cluster.ts).
 */
'use strict';
const path = require('path');
const { freePorts, httpGet, scrape, waitFor } = require('./common');
const { startBinary, stop } = require('./processes');

const READY_BACKENDS = 'konnectivity_network_proxy_server_ready_backend_connections';
const ESTABLISHED = 'konnectivity_network_proxy_server_established_connections';
const PENDING_DIALS = 'konnectivity_network_proxy_server_pending_backend_dials';
const AGENT_ENDPOINTS = 'konnectivity_network_proxy_agent_open_endpoint_connections';
/** The event log's own gauges and counters (src/persistence/metrics.ts), summed over label sets. */
const EVENT_LOG_BACKLOG = 'konnectivity_ts_event_log_backlog';
const EVENT_LOG_PUBLISHED = 'konnectivity_ts_event_log_published_total';
const EVENT_LOG_DROPPED = 'konnectivity_ts_event_log_dropped_total';
const EVENT_LOG_METRICS = [EVENT_LOG_BACKLOG, EVENT_LOG_PUBLISHED, EVENT_LOG_DROPPED];
const START_TIMEOUT_MS = 20_000;

async function waitHttp(port, urlPath, what, child) {
  const ok = await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} while starting`);
    return (await httpGet(port, urlPath, 1000)).status === 200;
  }, START_TIMEOUT_MS);
  if (!ok) throw new Error(`${what} did not answer ${urlPath} on port ${port} within ${START_TIMEOUT_MS} ms`);
}

/** `extraArgs` are appended to the flags (e.g. `--event-log=...`). */
async function startServer({ mode, dir, tls, name, nodeArgs, extraArgs = [] }) {
  const [agentPort, adminPort, healthPort] = await freePorts(3);
  const socketPath = path.join(dir, `${name}.sock`);
  const args = [
    `--mode=${mode}`,
    `--uds-name=${socketPath}`,
    '--delete-existing-uds-file=true',
    '--server-port=0',
    `--cluster-cert=${tls.clusterCert}`,
    `--cluster-key=${tls.clusterKey}`,
    `--agent-port=${agentPort}`,
    '--agent-bind-address=127.0.0.1',
    `--admin-port=${adminPort}`,
    `--health-port=${healthPort}`,
    '--health-bind-address=127.0.0.1',
    `--server-id=${name}`,
    `--data-dir=${path.join(dir, `${name}-data`)}`,
    ...extraArgs,
  ];
  const child = startBinary('konnectivity-server', args, path.join(dir, `${name}.log`), nodeArgs);
  await waitHttp(healthPort, '/healthz', `server ${name}`, child);
  return {
    child,
    pid: child.pid,
    mode,
    socketPath,
    agentPort,
    healthPort,
    adminPort,
    args,
    logFile: path.join(dir, `${name}.log`),
    dataDir: path.join(dir, `${name}-data`),
    metrics: () => scrape(healthPort, [READY_BACKENDS, ESTABLISHED, PENDING_DIALS]),
    eventLogMetrics: () => scrape(healthPort, EVENT_LOG_METRICS),
    stop: () => stop(child, 'SIGTERM', 5000),
  };
}

async function startAgent({ server, dir, tls, name, nodeArgs, extraArgs = [] }) {
  const [healthPort, adminPort] = await freePorts(2);
  const args = [
    `--ca-cert=${tls.caCert}`,
    '--proxy-server-host=127.0.0.1',
    `--proxy-server-port=${server.agentPort}`,
    `--health-server-port=${healthPort}`,
    '--health-server-host=127.0.0.1',
    `--admin-server-port=${adminPort}`,
    `--agent-id=${name}`,
    '--agent-identifiers=host=localhost&ipv4=127.0.0.1',
    `--data-dir=${path.join(dir, `${name}-data`)}`,
    ...extraArgs,
  ];
  const child = startBinary('konnectivity-agent', args, path.join(dir, `${name}.log`), nodeArgs);
  await waitHttp(healthPort, '/readyz', `agent ${name}`, child);
  const linked = await waitFor(async () => ((await server.metrics())[READY_BACKENDS] || 0) >= 1, 10_000);
  if (!linked) throw new Error(`server never reported agent ${name} as a ready backend`);
  return {
    child,
    pid: child.pid,
    healthPort,
    adminPort,
    args,
    logFile: path.join(dir, `${name}.log`),
    dataDir: path.join(dir, `${name}-data`),
    metrics: () => scrape(healthPort, [AGENT_ENDPOINTS]),
    eventLogMetrics: () => scrape(healthPort, EVENT_LOG_METRICS),
    stop: () => stop(child, 'SIGKILL', 1000),
  };
}

module.exports = {
  startServer,
  startAgent,
  READY_BACKENDS,
  ESTABLISHED,
  PENDING_DIALS,
  AGENT_ENDPOINTS,
  EVENT_LOG_BACKLOG,
  EVENT_LOG_PUBLISHED,
  EVENT_LOG_DROPPED,
};
