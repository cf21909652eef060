/**
 * The read nudge (readNudge.ts) on real node:http2 sessions: two Node peers that both write more than the
 * kernel's buffers hold complete when only the server is nudged, under TLS too, and a peer that floods
 * without reading is still cut off by Node's own guard.
 */
import { readFileSync } from 'fs';
import * as http2 from 'http2';
import * as net from 'net';
import * as path from 'path';
import * as tls from 'tls';
import { nudgeOf, readNudgeStats } from '../../../src/transport/h2/readNudge';
import { readWhileWriting } from '../../../src/transport/h2/readWhileWriting';
import { LOCAL_SETTINGS, raiseSessionWindow } from '../../../src/transport/h2/settings';
import { startH2Server } from '../../../src/transport/h2/h2Server';
import { useScratch } from '../../helpers/scratch';
import { useTlsDir } from '../../helpers/tls';
import { waitFor } from '../../helpers/waitFor';

/** Only stops a hung test. */
jest.setTimeout(120_000);

const tlsDir = useTlsDir();
const scratch = useScratch('knp-nudge-');

const CHUNK = 64 * 1024;
/** Each side sends this much at once: far more than a Unix socket's kernel buffers (~200 KB a side). */
const EACH_WAY = 16 * 1024 * 1024;

/** Writes EACH_WAY bytes with backpressure, then ends; `wrote` is told after every write. */
function pump(stream: http2.Http2Stream, wrote: () => void = () => {}): void {
  let sent = 0;
  const go = (): void => {
    while (sent < EACH_WAY) {
      sent += CHUNK;
      const more = stream.write(Buffer.alloc(CHUNK, 7));
      wrote();
      if (!more) {
        stream.once('drain', go);
        return;
      }
    }
    stream.end();
  };
  go();
}

describe('read nudge', () => {
  it('two Node peers writing megabytes both ways over TLS on a Unix socket complete; only the server is nudged', async () => {
    const socketPath = path.join(scratch.dir(), 'tls.sock');
    const server = http2.createSecureServer({
      settings: LOCAL_SETTINGS,
      cert: readFileSync(tlsDir().clusterCert),
      key: readFileSync(tlsDir().clusterKey),
      ALPNProtocols: ['h2'],
    });
    expect(readWhileWriting(server)).toBe(true);
    const nudgesBefore = readNudgeStats().nudges;
    let serverReceived = 0;
    let watched = false;
    const sessions: http2.ServerHttp2Session[] = [];
    server.on('session', (session) => {
      sessions.push(session);
      raiseSessionWindow(session);
    });
    server.on('stream', (stream) => {
      const nudge = nudgeOf(stream.session);
      watched = nudge !== undefined;
      stream.respond({ ':status': 200 });
      stream.on('data', (d: Buffer) => {
        serverReceived += d.length;
        nudge?.poke();
      });
      pump(stream, () => nudge?.poke());
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    scratch.defer(() => {
      for (const s of sessions) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });

    // A plain node:http2 client: it stops reading whenever its own write waits, as grpc-js does.
    const client = http2.connect('https://localhost', {
      settings: LOCAL_SETTINGS,
      createConnection: () =>
        tls.connect({
          path: socketPath,
          ca: readFileSync(tlsDir().caCert),
          servername: 'localhost',
          ALPNProtocols: ['h2'],
        }),
    });
    client.on('error', () => undefined);
    scratch.defer(() => void client.destroy());
    raiseSessionWindow(client);
    const call = client.request({ ':method': 'POST', ':path': '/both-ways' });
    call.on('error', () => undefined);
    let clientReceived = 0;
    call.on('data', (d: Buffer) => (clientReceived += d.length));
    pump(call);

    await waitFor(() => serverReceived === EACH_WAY && clientReceived === EACH_WAY, {
      description: 'all bytes both ways',
      timeoutMs: 60_000,
    });
    expect(watched).toBe(true);
    expect(readNudgeStats().nudges).toBeGreaterThan(nudgesBefore);
    client.destroy();
    await waitFor(() => readNudgeStats().live === 0, { description: 'no nudge left after the session' });
  });

  it("a peer that floods pings and never reads is still cut off by Node's flood guard", async () => {
    const socketPath = path.join(scratch.dir(), 'flood.sock');
    const sessionErrors: string[] = [];
    const started = await startH2Server({
      listen: { kind: 'uds', path: socketPath },
      routes: {},
      onSessionError: (_peer, err) => sessionErrors.push(err.message),
    });
    scratch.defer(() => started.close());
    const raw = net.connect(socketPath);
    raw.on('error', () => undefined);
    raw.pause(); // never reads a byte of the server's output (the pings' acks)
    scratch.defer(() => void raw.destroy());
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    const emptySettings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const ping = Buffer.from([0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const pings = Buffer.concat(Array.from({ length: 1000 }, () => ping));
    raw.write(Buffer.concat([preface, emptySettings]));
    const flood = (): void => {
      while (!raw.destroyed && raw.write(pings));
      if (!raw.destroyed) raw.once('drain', flood);
    };
    flood();
    await waitFor(() => raw.destroyed || sessionErrors.length > 0, {
      description: 'the flooding session closed by the server',
      timeoutMs: 60_000,
    });
    await waitFor(() => started.stats().sessions === 0, { description: 'no session left' });
  });
});
