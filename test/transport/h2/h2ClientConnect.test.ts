/** Connecting: failures are typed errors, never exceptions from the network. */
import { mkdtemp, rm } from 'fs/promises';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { H2SessionError } from '../../../src/transport/h2/errors';
import { H2Client } from '../../../src/transport/h2/h2Client';
import { startH2Server } from '../../../src/transport/h2/h2Server';
import { generateTlsPems } from '../../../src/tools/certs';
import { useTlsDir } from '../../helpers/tls';

describe('H2Client.connect', () => {
  const tls = useTlsDir();

  it('rejects with connect-failed when nothing listens on the socket', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'h2-connect-'));
    try {
      const err = await H2Client.connect({
        target: { kind: 'uds', path: path.join(dir, 'none.sock') },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(H2SessionError);
      expect((err as H2SessionError).reason).toBe('connect-failed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects with connect-failed when the server certificate is not signed by our CA', async () => {
    const server = await startH2Server({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      tls: { cert: fs.readFileSync(tls().serverCert), key: fs.readFileSync(tls().serverKey) },
      routes: {},
    });
    try {
      const otherCa = Buffer.from(generateTlsPems().ca.cert);
      const err = await H2Client.connect({
        target: { kind: 'tcp', host: '127.0.0.1', port: server.port },
        tls: { ca: otherCa, serverName: 'localhost' },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(H2SessionError);
      expect((err as H2SessionError).reason).toBe('connect-failed');
    } finally {
      await server.close();
    }
  });

  // Under TLS 1.3 the server refuses the certificate after the client's handshake is done; the alert must
  // still end the connect at once (node:http2 alone does not hear it, and would wait for the timeout).
  it('refuses a client without a certificate when the server asks for one (mTLS), at once', async () => {
    const pem = (f: string): Buffer => fs.readFileSync(f);
    const server = await startH2Server({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      tls: { cert: pem(tls().serverCert), key: pem(tls().serverKey), ca: pem(tls().caCert) },
      routes: {},
    });
    try {
      const err = await H2Client.connect({
        target: { kind: 'tcp', host: '127.0.0.1', port: server.port },
        tls: { ca: pem(tls().caCert), serverName: 'localhost' },
        // Far beyond the test's own timeout: only the alert can end this connect in time.
        connectTimeoutMs: 600_000,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(H2SessionError);
      expect((err as H2SessionError).reason).toBe('connect-failed');
      expect((err as H2SessionError).message).toMatch(/CERTIFICATE_REQUIRED|certificate required/i);
    } finally {
      await server.close();
    }
  });
});
