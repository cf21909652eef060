/**
 * Why the agent could not open its link to a server, as one literal `reason` (logs, tests) with the
 * transport's error as `cause`. Every failure of a connect attempt becomes one of these; the sync loop and
 * the link's machine only back off and try again, but an operator reading the log learns which of TLS,
 * authentication or reachability to look at.
 */
import { H2SessionError } from './h2/errors';

export type LinkErrorReason =
  /** Nothing listens, or the connection was reset or dropped before the call could start. */
  | 'refused'
  /** The address does not resolve or cannot be routed to. */
  | 'unreachable'
  /** The TLS handshake failed: an unknown CA, a name or IP not in the certificate, a refused client cert. */
  | 'tls'
  /** The server refused the call for lack of valid credentials (gRPC UNAUTHENTICATED / PERMISSION_DENIED). */
  | 'unauthenticated'
  /** The server ended the call with another status before its headers. */
  | 'rejected'
  /** The server's headers lack a single serverid and servercount. */
  | 'bad-headers'
  /** No headers within the connect bound. */
  | 'timeout'
  /** The address is not host:port. */
  | 'bad-target';

export class LinkError extends Error {
  override readonly name = 'LinkError';
  constructor(
    readonly reason: LinkErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** OpenSSL's certificate verification results as Node reports them in `code`. */
const CERT_VERIFY_CODE = /CERT|SELF_SIGNED|UNABLE_TO_|CRL|HOSTNAME_MISMATCH|INVALID_CA|PATH_LENGTH/;
const UNREACHABLE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The first `code` along the cause chain (not `instanceof Error`: errors may come from another realm). */
function codeOf(err: unknown): string {
  let e = err;
  for (let depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const { code, cause } = e as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    e = cause;
  }
  return '';
}

function reasonOf(err: unknown): LinkErrorReason {
  if (err instanceof H2SessionError && err.reason === 'connect-timeout') return 'timeout';
  const code = codeOf(err);
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || CERT_VERIFY_CODE.test(code)) return 'tls';
  if (UNREACHABLE_CODES.has(code)) return 'unreachable';
  return 'refused';
}

/** The LinkError for a connection that could not be made (H2Client.connect rejected). */
export function linkErrorOfConnect(target: string, err: unknown): LinkError {
  const message = err instanceof Error ? err.message : String(err);
  // H2Client's messages already name the peer.
  const text = message.startsWith('connect to ') ? message : `connect to ${target}: ${message}`;
  return new LinkError(reasonOf(err), text, { cause: err });
}
