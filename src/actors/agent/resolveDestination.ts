/**
 * With `--allowed-destinations` the agent resolves the host itself, checks the address, then connects to
 * exactly that address (a DNS answer that changes in between cannot slip past the check). getaddrinfo may
 * answer with neither an error nor an address (an empty host does), and Node may throw for arguments it
 * rejects: every way ends in one outcome with a Go-shaped error, never in an exception.
 */
import { lookup } from 'dns';
import { notAllowedError, type DestinationPolicy } from './destinationPolicy';
import { goDialError, unexpectedDialError, type NodeNetError } from './goDialErrors';

export type ResolvedDestination =
  | { readonly ok: true; readonly ip: string }
  | { readonly ok: false; readonly error: string; readonly denied: boolean };

export function resolveDestination(
  address: string,
  target: { host: string; port: number },
  policy: DestinationPolicy,
  done: (outcome: ResolvedDestination) => void,
): void {
  try {
    lookup(target.host, (err: NodeNetError | null, ip: string | null | undefined) => {
      if (err || !ip) {
        const notFound: NodeNetError = err ?? Object.assign(new Error('no address'), { code: 'ENOTFOUND' });
        notFound.hostname ??= target.host;
        done({ ok: false, error: goDialError(address, notFound), denied: false });
      } else if (!policy.allows(ip, target.port)) {
        done({ ok: false, error: notAllowedError(ip, target.port), denied: true });
      } else {
        done({ ok: true, ip });
      }
    });
  } catch (err) {
    queueMicrotask(() => done({ ok: false, error: unexpectedDialError(address, err), denied: false }));
  }
}
