/**
 * `konnectivity-server`: parse the reference's flags, start the server, stop cleanly on SIGTERM/SIGINT.
 */
import { startupLogConfig } from './config/commonOptions';
import { parseServerFlags, SERVER_BINARY_NAME, type ServerOptions } from './config/serverOptions';
import type { Logger } from './observability/logger';
import type * as Run from './server/runServer';
import type { RunningServer, ServerRuntimeConfig } from './server/runServer';
import { startBinary } from './startBinary';
import { holdYoungGeneration } from './startupHeap';
import type { ServerTlsFiles, TlsPolicy } from './transport/tlsFiles';

function tlsFiles(cert: string, key: string, ca: string, policy: TlsPolicy): ServerTlsFiles | undefined {
  if (!cert || !key) return undefined;
  return { cert, key, ...(ca ? { ca } : {}), policy };
}

export function runtimeConfig(o: ServerOptions): ServerRuntimeConfig {
  const policy: TlsPolicy = { minVersion: o.tlsMinVersion, ciphers: o.opensslCipherSuites };
  const frontendTls = tlsFiles(o.serverCert, o.serverKey, o.serverCaCert, policy);
  const agentTls = tlsFiles(o.clusterCert, o.clusterKey, o.clusterCaCert, policy);
  return {
    serverId: o.serverId,
    serverCount: o.serverCount,
    mode: o.mode,
    frontend: {
      listen: o.udsName
        ? { kind: 'uds', path: o.udsName, deleteExisting: o.deleteExistingUdsFile }
        : { kind: 'tcp', host: o.serverBindAddress, port: o.serverPort },
      ...(frontendTls ? { tls: frontendTls } : {}),
    },
    agent: {
      listen: { kind: 'tcp', host: o.agentBindAddress, port: o.agentPort },
      ...(agentTls ? { tls: agentTls } : {}),
    },
    health: { host: o.healthBindAddress, port: o.healthPort },
    admin: { host: o.adminBindAddress, port: o.adminPort },
    strategies: o.proxyStrategies,
    backendDialTimeoutMs: o.backendDialTimeoutMs,
    admission: { maxInFlight: o.maxDialsInFlight, maxWaiting: o.maxDialsWaiting },
    keepaliveTimeMs: o.keepaliveTimeMs,
    frontendKeepaliveTimeMs: o.frontendKeepaliveTimeMs,
    flowControl: o.flowControl,
    inspector: o.inspector,
    gracefulShutdownTimeoutMs: o.gracefulShutdownTimeoutMs,
    ...(o.agentTokenAuth
      ? {
          agentAuth: {
            kubeconfigPath: o.kubeconfig,
            namespace: o.agentNamespace,
            serviceAccount: o.agentServiceAccount,
            audience: o.authenticationAudience,
            qps: o.kubeconfigQps,
            burst: o.kubeconfigBurst,
            contentType: o.kubeApiContentType,
          },
        }
      : {}),
    eventLog: startupLogConfig(o),
  };
}

function stopOnSignals(server: RunningServer, log: Logger): void {
  let signals = 0;
  const stop = (signal: string): void => {
    if (++signals > 1) process.exit(1);
    log.info('shutting down', { signal });
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export function main(argv: string[]): void {
  // The server's code is loaded under the start-up hold (startupHeap.ts), which startBinary releases.
  holdYoungGeneration();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded under the hold, see above
  const { runServer } = require('./server/runServer') as typeof Run;
  startBinary(
    {
      name: SERVER_BINARY_NAME,
      component: 'server',
      parse: parseServerFlags,
      start: (options, log) => runServer(runtimeConfig(options), log),
      started: stopOnSignals,
    },
    argv,
  );
}
