/**
 * Real TLS material per test suite: a temp directory with a fresh CA and certificates (see
 * src/tools/certs.ts), removed when the suite is done.
 */
import { mkdtemp, rm } from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import { generateTlsMaterial, type TlsFiles, type TlsPems } from '../../src/tools/certs';

export interface TlsDir extends TlsFiles {
  readonly pems: TlsPems;
  /** Removes the directory. Safe to call more than once. */
  cleanup(): Promise<void>;
}

export async function makeTlsDir(): Promise<TlsDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'konnectivity-tls-'));
  try {
    const files = await generateTlsMaterial(dir);
    return { ...files, cleanup: () => rm(dir, { recursive: true, force: true }) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Registers beforeAll/afterAll in the calling suite and returns a getter for its TLS directory:
 * `const tls = useTlsDir(); ... tls().serverCert`.
 */
export function useTlsDir(): () => TlsDir {
  let current: TlsDir | undefined;
  beforeAll(async () => {
    current = await makeTlsDir();
  });
  afterAll(async () => {
    await current?.cleanup();
    current = undefined;
  });
  return () => {
    if (!current)
      throw new Error('useTlsDir(): the TLS directory exists only between beforeAll and afterAll');
    return current;
  };
}
