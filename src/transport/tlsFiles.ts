/**
 * Reads PEM files named by flags. A problem fails start-up with one line that names the flag and the file
 * (`--cluster-cert=/x: no PEM certificate found`), checked here rather than left to the TLS stack, whose
 * errors name neither (`PEM routines::no start line` when a listener binds).
 */
import { createPrivateKey, X509Certificate } from 'crypto';
import { readFileSync } from 'fs';

export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
  constructor(
    readonly reason: 'unreadable' | 'no-certificate' | 'no-key',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What a PEM file given by a flag must hold. */
export type PemContent = 'certificate' | 'key';

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function hasCertificate(pem: string): boolean {
  for (const block of pem.match(CERTIFICATE_BLOCK) ?? []) {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      // not a parsable certificate; a later block may be
    }
  }
  return false;
}

function hasKey(pem: Buffer): boolean {
  try {
    createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
}

export function readPem(path: string, flag: string, content: PemContent): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (cause) {
    throw new TlsConfigError('unreadable', `${flag}=${path}: ${(cause as Error).message}`, { cause });
  }
  if (content === 'certificate' && !hasCertificate(pem.toString('latin1'))) {
    throw new TlsConfigError('no-certificate', `${flag}=${path}: no PEM certificate found`);
  }
  if (content === 'key' && !hasKey(pem)) {
    throw new TlsConfigError('no-key', `${flag}=${path}: no PEM private key found`);
  }
  return pem;
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

/** A server's TLS material, read and checked (the flag names the files' flags: `cluster`, `server`). */
export interface ServerTlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  minVersion?: TlsPolicy['minVersion'];
  ciphers?: string;
}

export function readServerTls(tls: ServerTlsFiles, flagPrefix: string): ServerTlsMaterial {
  return {
    cert: readPem(tls.cert, `--${flagPrefix}-cert`, 'certificate'),
    key: readPem(tls.key, `--${flagPrefix}-key`, 'key'),
    ...(tls.ca ? { ca: readPem(tls.ca, `--${flagPrefix}-ca-cert`, 'certificate') } : {}),
    ...tlsPolicyOptions(tls.policy),
  };
}
