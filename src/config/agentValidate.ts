// The reference agent's GrpcProxyAgentOptions.Validate(), check for check and in the same order.

import { checkAgentIdentifiers } from './agentIdentifiers';
import type { ConfigDeps } from './deps';
import type { ParsedFlags } from './flags';
import { formatGoDuration } from './goDuration';
import { requireProfilingForContention } from './sharedFlags';
import { invalidOptions, requireCheck, requireFile, requireKeyPair, requirePositiveSize } from './validation';

export const SERVER_COUNT_SOURCES = ['', 'default', 'max'] as const;

/** Throws FlagError('invalid-options') on the first problem. */
export function validateAgentFlags(f: ParsedFlags, deps: ConfigDeps): void {
  requireKeyPair(deps, 'agent', f.string('agent-key'), f.string('agent-cert'));
  requireFile(deps, 'agent CA cert', f.string('ca-cert'));

  const ports = [
    ['proxy server', f.int('proxy-server-port')],
    ['health server', f.int('health-server-port')],
    ['admin server', f.int('admin-server-port')],
  ] as const;
  for (const [label, port] of ports) {
    if (port <= 0) invalidOptions(`${label} port ${port} must be greater than 0`);
  }
  requireProfilingForContention(f);

  const sync = f.duration('sync-interval');
  const cap = f.duration('sync-interval-cap');
  if (sync > cap) {
    invalidOptions(
      `sync interval ${formatGoDuration(sync)} must be less than sync interval cap ${formatGoDuration(cap)}`,
    );
  }
  requireFile(deps, 'service account token path', f.string('service-account-token-path'));
  requireCheck(checkAgentIdentifiers(f.string('agent-identifiers')), 'agent address is invalid: ');
  requirePositiveSize(f.int('xfr-channel-size'));

  const source = f.string('server-count-source');
  if (!(SERVER_COUNT_SOURCES as readonly string[]).includes(source)) {
    invalidOptions(`--server-count-source must be one of '', 'default', 'max', got ${source}`);
  }
}
