import { createPrivateKey, X509Certificate } from 'crypto';
import { readFile, stat } from 'fs/promises';
import * as tls from 'tls';
import forge from 'node-forge';
import { generateTlsPems, type TlsPems } from '../../src/tools/certs';
import { useTlsDir } from '../helpers/tls';

const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** An mTLS server like the frontend port: it requires a client certificate signed by our CA. */
async function startMtlsServer(pems: TlsPems): Promise<tls.Server> {
  const server = tls.createServer({
    ca: pems.ca.cert,
    cert: pems.server.cert,
    key: pems.server.key,
    requestCert: true,
    rejectUnauthorized: true,
  });
  server.on('secureConnection', (socket) => socket.end('hello\n'));
  // A client rejected during the handshake is reported here; that is the expected outcome of one test.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Connects and reads until the server closes; resolves with what it said or rejects with the TLS error. */
function exchange(port: number, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('generateTlsPems', () => {
  let pems: TlsPems;
  beforeAll(() => {
    pems = generateTlsPems();
  });

  it('makes a CA that signed every leaf, with SKI/AKI linking them', () => {
    const ca = new X509Certificate(pems.ca.cert);
    expect(ca.ca).toBe(true);
    for (const leaf of [pems.cluster, pems.server, pems.frontendClient, pems.agent]) {
      const cert = new X509Certificate(leaf.cert);
      expect(cert.ca).toBe(false);
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.checkPrivateKey(createPrivateKey(leaf.key))).toBe(true);
    }
  });

  it("names the CA's key in every leaf's authorityKeyIdentifier", () => {
    type Ext = { name: string; value: string; subjectKeyIdentifier?: string };
    const ext = (pem: string, name: string): Ext | undefined =>
      (forge.pki.certificateFromPem(pem).extensions as Ext[]).find((e) => e.name === name);
    const caKeyId = ext(pems.ca.cert, 'subjectKeyIdentifier')?.subjectKeyIdentifier;
    expect(caKeyId).toMatch(/^[0-9a-f]{40}$/);
    for (const leaf of [pems.cluster, pems.server, pems.frontendClient, pems.agent]) {
      const aki = ext(leaf.cert, 'authorityKeyIdentifier');
      // DER: SEQUENCE { [0] keyIdentifier (20 bytes) } = 30 16 80 14 <id>
      expect(forge.util.bytesToHex(aki?.value ?? '')).toBe(`30168014${caKeyId}`);
      expect(ext(leaf.cert, 'subjectKeyIdentifier')?.subjectKeyIdentifier).not.toBe(caKeyId);
    }
  });

  it('gives server certificates serverAuth and the localhost SANs, client certificates clientAuth', () => {
    for (const server of [pems.cluster, pems.server]) {
      const cert = new X509Certificate(server.cert);
      expect(cert.keyUsage).toEqual([EKU_SERVER_AUTH]);
      expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
      expect(cert.checkHost('localhost')).toBe('localhost');
      expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(cert.checkIP('::1')).toBe('::1');
    }
    for (const client of [pems.frontendClient, pems.agent]) {
      expect(new X509Certificate(client.cert).keyUsage).toEqual([EKU_CLIENT_AUTH]);
    }
  });

  it('has non-negative serial numbers (Go rejects negative ones)', () => {
    const serial = new X509Certificate(pems.agent.cert).serialNumber;
    expect(parseInt(serial.slice(0, 2), 16)).toBeLessThan(0x80);
  });
});

describe('TLS material with Node tls', () => {
  const tlsDir = useTlsDir();
  let server: tls.Server;
  let port: number;

  beforeAll(async () => {
    server = await startMtlsServer(tlsDir().pems);
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('writes every file, keys readable only by the owner', async () => {
    const t = tlsDir();
    for (const file of [t.caCert, t.clusterCert, t.serverCert, t.frontendClientCert, t.agentCert]) {
      expect(await readFile(file, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    }
    for (const file of [t.caKey, t.clusterKey, t.serverKey, t.frontendClientKey, t.agentKey]) {
      expect(await readFile(file, 'utf8')).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    }
  });

  it('completes an mTLS handshake to 127.0.0.1 with the frontend client certificate', async () => {
    const t = tlsDir();
    const said = await exchange(port, {
      ca: await readFile(t.caCert),
      cert: await readFile(t.frontendClientCert),
      key: await readFile(t.frontendClientKey),
    });
    expect(said).toBe('hello\n');
  });

  it('also accepts the agent client certificate (same CA)', async () => {
    const { pems } = tlsDir();
    await expect(
      exchange(port, { ca: pems.ca.cert, cert: pems.agent.cert, key: pems.agent.key }),
    ).resolves.toBe('hello\n');
  });

  it('rejects a client that presents no certificate', async () => {
    const { pems } = tlsDir();
    await expect(exchange(port, { ca: pems.ca.cert })).rejects.toThrow(
      /certificate|alert|socket hang up|ECONNRESET/i,
    );
  });

  it('is rejected by a client that trusts another CA', async () => {
    const other = generateTlsPems();
    const { pems } = tlsDir();
    await expect(
      exchange(port, { ca: other.ca.cert, cert: pems.frontendClient.cert, key: pems.frontendClient.key }),
    ).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });
});
