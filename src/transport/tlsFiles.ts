/** Reads PEM files named by flags, failing with the flag's name so the operator knows which one. */
import { readFileSync } from 'fs';

export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
  constructor(
    readonly reason: 'unreadable',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new TlsConfigError('unreadable', `cannot read ${flag} ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

export interface ServerTlsFiles {
  cert: string;
  key: string;
  /** Client CA: when set, clients must present a certificate it signed (mTLS). */
  ca?: string;
  /** --tls-min-version and --cipher-suites, applied to every TLS listener. */
  policy?: TlsPolicy;
}

export interface TlsPolicy {
  minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL names; empty means Node's defaults. They do not apply to TLS 1.3, as in Go. */
  ciphers: readonly string[];
}

/** The policy as Node TLS options. */
export function tlsPolicyOptions(policy: TlsPolicy | undefined): {
  minVersion?: TlsPolicy['minVersion'];
  ciphers?: string;
} {
  if (!policy) return {};
  return {
    minVersion: policy.minVersion,
    ...(policy.ciphers.length > 0 ? { ciphers: policy.ciphers.join(':') } : {}),
  };
}
