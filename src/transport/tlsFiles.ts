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
}
