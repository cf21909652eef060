/**
 * TLS handshake pacing keeps nothing of a connection once its handshake is done: an agent port holds
 * thousands of connections for hours, and whatever pacing left on each (its slot's timer, a 'close'
 * listener) would be memory for as long as the connection lives.
 */
import { readFileSync } from 'fs';
import type * as net from 'net';
import * as tls from 'tls';
import { paceHandshakes } from '../../../src/transport/h2/handshakePacing';
import { useTlsDir } from '../../helpers/tls';
import { waitFor } from '../../helpers/waitFor';

/** Only stops a hung test. */
jest.setTimeout(60_000);

const files = useTlsDir();
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** Connects one TLS client and returns the server's raw socket under it once the handshake is done. */
async function handshakeOnce(paced: boolean): Promise<net.Socket> {
  const server = tls.createServer({
    cert: readFileSync(files().clusterCert),
    key: readFileSync(files().clusterKey),
  });
  if (paced) expect(paceHandshakes(server)).toBe(true);
  let raw: net.Socket | undefined;
  let secure = false;
  server.on('connection', (s: net.Socket) => (raw = s));
  server.on('secureConnection', () => (secure = true));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const client = tls.connect({
    port,
    host: '127.0.0.1',
    ca: readFileSync(files().caCert),
    servername: 'localhost',
  });
  client.on('error', () => undefined);
  cleanups.push(() => client.destroy());
  await waitFor(() => secure && raw !== undefined, { description: 'the handshake done' });
  return raw!;
}

describe('paceHandshakes', () => {
  it('leaves no listener on a connection whose handshake is done', async () => {
    const unpaced = await handshakeOnce(false);
    const paced = await handshakeOnce(true);
    expect(paced.listenerCount('close')).toBe(unpaced.listenerCount('close'));
  });
});
