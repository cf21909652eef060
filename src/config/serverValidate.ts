// The reference server's ProxyRunOptions.Validate(), check for check and in the same order, so
// that the first complaint about a bad manifest is the one an operator of the Go server would see.

import { isFrontendMode } from '../protocol/frontendModes';
import { parseProxyStrategies } from '../protocol/proxyStrategies';
import type { ConfigDeps } from './deps';
import { statNotExist } from './deps';
import type { ParsedFlags } from './flags';
import { goQuote } from './flagValues';
import { formatGoDuration } from './goDuration';
import { checkLabelPairs } from './labelSelector';
import { GO_SECURE_CIPHER_SUITES, GO_TLS_VERSIONS, isGoTlsVersionName } from './tlsNames';
import { requireProfilingForContention } from './sharedFlags';
import { invalidOptions, requireCheck, requireFile, requireKeyPair, requirePositiveSize } from './validation';

const LAST_REGISTERED_PORT = 49151;
const FIRST_UNPRIVILEGED_PORT = 1024;

function validatePorts(f: ParsedFlags): void {
  const usingUds = f.string('uds-name') !== '';
  const ports = [
    ['server', f.int('server-port')],
    ['agent', f.int('agent-port')],
    ['admin', f.int('admin-port')],
    ['health', f.int('health-port')],
  ] as const;
  for (const [label, port] of ports) {
    if (port > LAST_REGISTERED_PORT) {
      invalidOptions(`please do not try to use ephemeral port ${port} for the ${label} port`);
    }
  }
  for (const [label, port] of ports) {
    // The server port is unused (0) when the frontend listens on a Unix socket.
    if (port < FIRST_UNPRIVILEGED_PORT && !(label === 'server' && usingUds)) {
      invalidOptions(`please do not try to use reserved port ${port} for the ${label} port`);
    }
  }
}

function validateTransport(f: ParsedFlags, deps: ConfigDeps): void {
  requireKeyPair(deps, 'server', f.string('server-key'), f.string('server-cert'));
  requireFile(deps, 'server CA cert', f.string('server-ca-cert'));
  requireKeyPair(deps, 'cluster', f.string('cluster-key'), f.string('cluster-cert'));
  requireFile(deps, 'cluster CA cert', f.string('cluster-ca-cert'));

  const mode = f.string('mode');
  if (!isFrontendMode(mode)) {
    invalidOptions(`mode must be set to either 'grpc' or 'http-connect' not ${goQuote(mode)}`);
  }
  if (f.string('uds-name') !== '') {
    if (f.int('server-port') !== 0) {
      invalidOptions(`server port should be set to 0 not ${f.int('server-port')} for UDS`);
    }
    if (f.string('server-key') !== '') invalidOptions('server key should not be set for UDS');
    if (f.string('server-cert') !== '') invalidOptions('server cert should not be set for UDS');
    if (f.string('server-ca-cert') !== '') invalidOptions('server ca cert should not be set for UDS');
  } else if (f.string('server-ca-cert') === '') {
    invalidOptions('server ca cert must be set when in TCP mode (uds-name is empty)');
  }
}

/** True when agents authenticate with a service-account token (TokenReview). */
export const usesServiceAccountAuth = (f: ParsedFlags): boolean =>
  f.string('agent-namespace') !== '' ||
  f.string('agent-service-account') !== '' ||
  f.string('authentication-audience') !== '';

function validateAgentAuth(f: ParsedFlags, deps: ConfigDeps): void {
  if (usesServiceAccountAuth(f)) {
    if (f.string('cluster-ca-cert') !== '') {
      invalidOptions('--cluster-ca-cert can not be used when agent authentication is enabled');
    }
    for (const name of ['agent-namespace', 'agent-service-account', 'authentication-audience']) {
      if (f.string(name) === '')
        invalidOptions(`--${name} cannot be empty when agent authentication is enabled`);
    }
  }
  const kubeconfig = f.string('kubeconfig');
  if (kubeconfig !== '' && !deps.fileExists(kubeconfig)) {
    invalidOptions(`checking KubeconfigPath ${goQuote(kubeconfig)}, got ${statNotExist(kubeconfig)}`);
  }
}

/** Returns warnings the reference would log (it logs, not fails, on TLS below 1.2). */
function validateTls(f: ParsedFlags): string[] {
  const warnings: string[] = [];
  const min = f.string('tls-min-version');
  if (min !== '') {
    // The reference's util.GetTLSVersion error text could not be confirmed; this one names the choices.
    if (!isGoTlsVersionName(min)) {
      invalidOptions(
        `unsupported TLS version ${goQuote(min)}, accepted values: ${Object.keys(GO_TLS_VERSIONS).join(', ')}`,
      );
    }
    if (min === 'VersionTLS10' || min === 'VersionTLS11') {
      warnings.push(`--tls-min-version=${min} is below TLS 1.2 and is considered insecure (RFC 8996)`);
    }
  }
  for (const cipher of f.list('cipher-suites')) {
    if (!Object.hasOwn(GO_SECURE_CIPHER_SUITES, cipher)) {
      invalidOptions(`cipher suite ${cipher} not supported, doesn't exist or considered as insecure`);
    }
  }
  return warnings;
}

/** Throws FlagError('invalid-options') on the first problem; returns warnings to print. */
export function validateServerFlags(f: ParsedFlags, deps: ConfigDeps): string[] {
  validateTransport(f, deps);
  validatePorts(f);
  requireProfilingForContention(f);
  validateAgentAuth(f, deps);

  const strategies = f.string('proxy-strategies');
  if (strategies === '') invalidOptions('ProxyStrategies cannot be empty');
  try {
    parseProxyStrategies(strategies);
  } catch (e) {
    invalidOptions(`invalid proxy strategies: ${(e as Error).message}`);
  }
  requirePositiveSize(f.int('xfr-channel-size'));
  requirePositiveSize(f.int('frontend-write-channel-size'), 'frontend write channel size');
  const warnings = validateTls(f);
  if (f.bool('enable-lease-controller')) requireCheck(checkLabelPairs(f.string('lease-label')));

  for (const name of ['graceful-shutdown-timeout', 'backend-dial-timeout']) {
    const ms = f.duration(name);
    if (ms < 0) invalidOptions(`${name} must be >= 0, got ${formatGoDuration(ms)}`);
  }
  return warnings;
}
