/**
 * `konnectivity-agent`: parse the reference's flags and keep tunnels to the server(s). The first SIGTERM
 * sends DRAIN and keeps serving (as the reference does); a second one, or SIGINT, exits.
 */
import type * as Run from './agent/runAgent';
import type { AgentRuntimeConfig, RunningAgent } from './agent/runAgent';
import { parseAgentFlags, AGENT_BINARY_NAME, type AgentOptions } from './config/agentOptions';
import { startupLogConfig } from './config/commonOptions';
import type { Logger } from './observability/logger';
import { startBinary } from './startBinary';
import { holdYoungGeneration } from './startupHeap';

function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function runtimeConfig(o: AgentOptions): AgentRuntimeConfig {
  return {
    agentId: o.agentId,
    identifiers: o.agentIdentifiers,
    primary: hostPort(o.proxyServerHost, o.proxyServerPort),
    extra: o.proxyServerAddresses,
    syncForever: o.syncForever,
    allowedDestinations: o.allowedDestinationRules,
    tls: {
      ...(o.caCert ? { caCert: o.caCert } : {}),
      ...(o.agentCert ? { agentCert: o.agentCert } : {}),
      ...(o.agentKey ? { agentKey: o.agentKey } : {}),
    },
    serviceAccountTokenPath: o.serviceAccountTokenPath,
    syncIntervalMs: o.syncIntervalMs,
    syncIntervalCapMs: o.syncIntervalCapMs,
    keepaliveTimeMs: o.keepaliveTimeMs,
    health: { host: o.healthServerHost, port: o.healthServerPort },
    admin: { host: o.adminBindAddress, port: o.adminServerPort },
    flowControl: o.flowControl,
    inspector: o.inspector,
    linkTransport: o.linkTransport,
    alpnProtocols: o.alpnProtos,
    eventLog: startupLogConfig(o),
  };
}

function drainThenStopOnSignals(agent: RunningAgent, log: Logger): void {
  let terms = 0;
  const exit = (signal: string): void => {
    log.info('stopping', { signal });
    agent.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => {
    if (++terms === 1) {
      log.info(
        'SIGTERM: draining (sending DRAIN to every server, still serving); send SIGTERM again to exit',
      );
      agent.drain();
    } else {
      exit('SIGTERM');
    }
  });
  process.on('SIGINT', () => exit('SIGINT'));
}

export function main(argv: string[]): void {
  // The agent's code is loaded under the start-up hold (startupHeap.ts), which startBinary releases.
  holdYoungGeneration();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded under the hold, see above
  const { runAgent } = require('./agent/runAgent') as typeof Run;
  startBinary(
    {
      name: AGENT_BINARY_NAME,
      component: 'agent',
      parse: parseAgentFlags,
      start: (options, log) => runAgent(runtimeConfig(options), log),
      started: drainThenStopOnSignals,
    },
    argv,
  );
}
