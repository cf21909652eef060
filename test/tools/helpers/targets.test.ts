import type * as net from 'net';
import { freePort, freePorts } from '../../helpers/ports';
import {
  firstPatternMismatch,
  patternBytes,
  refusedPort,
  startDownloadServer,
  startEchoServer,
  startSinkServer,
  startStallServer,
  verifyPattern,
  type TargetServer,
} from '../../helpers/targets';
import {
  connectTcp,
  download,
  readLine,
  sendAndReceive,
  upload,
  waitForClose,
  writeAll,
} from '../../helpers/tcpClient';
import { waitFor, waitForStable } from '../../helpers/waitFor';

describe('patternBytes', () => {
  it('is deterministic and consistent at any offset', () => {
    const whole = patternBytes(0, 1000);
    expect(patternBytes(0, 1000).equals(whole)).toBe(true);
    expect(patternBytes(3, 500).equals(whole.subarray(3, 503))).toBe(true);
  });

  it('detects a shifted, duplicated or corrupted byte', () => {
    const data = patternBytes(0, 100_000);
    expect(verifyPattern(data)).toBe(true);
    expect(verifyPattern(data.subarray(4))).toBe(false);
    expect(verifyPattern(data.subarray(4), 4)).toBe(true);
    const corrupted = Buffer.from(data);
    corrupted[77_777] = corrupted[77_777]! ^ 1;
    expect(firstPatternMismatch(corrupted)).toBe(77_777);
    // No short period: the 64 KiB block after the first is not a repeat of it.
    expect(patternBytes(0, 65_536).equals(patternBytes(65_536, 65_536))).toBe(false);
  });
});

describe('ports', () => {
  it('freePort gives a port nothing listens on; freePorts gives distinct ones', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    await expect(connectTcp(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
  });
});

describe('target servers', () => {
  const targets: TargetServer[] = [];
  const clients: net.Socket[] = [];
  async function connect(target: TargetServer): Promise<net.Socket> {
    const socket = await connectTcp(target.port);
    clients.push(socket);
    return socket;
  }
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await Promise.all(targets.splice(0).map((t) => t.close()));
  });

  it('echo returns what it receives and counts it', async () => {
    const echo = await startEchoServer();
    targets.push(echo);
    expect(echo.address).toBe(`127.0.0.1:${echo.port}`);
    const socket = await connect(echo);
    const payload = patternBytes(0, 2 * 1024 * 1024);
    expect((await sendAndReceive(socket, payload)).equals(payload)).toBe(true);
    expect(echo.bytesReceived).toBe(payload.length);
    expect(echo.accepted).toBe(1);
  });

  it('download sends exactly n pattern bytes and closes', async () => {
    const server = await startDownloadServer();
    targets.push(server);
    const data = await download(await connect(server), 3_000_001);
    expect(data.length).toBe(3_000_001);
    expect(verifyPattern(data)).toBe(true);
    await waitFor(() => server.open === 0, { description: 'the download server to close the connection' });
  });

  it('sink checks the uploaded pattern and replies with the count, or the first bad index', async () => {
    const sink = await startSinkServer();
    targets.push(sink);
    expect(await upload(await connect(sink), 1_000_000)).toBe('OK 1000000');
    const socket = await connect(sink);
    const bad = Buffer.from(patternBytes(0, 100));
    bad[42] = bad[42]! ^ 0xff;
    const verdict = readLine(socket);
    await writeAll(socket, Buffer.concat([Buffer.from('PUT 100\n'), bad]));
    expect(await verdict).toBe('BAD 42');
    expect(sink.bytesReceived).toBe(1_000_100);
  });

  it('stall accepts but never reads, so the writer ends up blocked', async () => {
    const stall = await startStallServer();
    targets.push(stall);
    const socket = await connect(stall);
    let full = false;
    for (let i = 0; i < 1024 && !full; i++) full = !socket.write(Buffer.alloc(64 * 1024));
    expect(full).toBe(true);
    const pending = await waitForStable(() => socket.writableLength, { description: 'the unsent bytes' });
    expect(pending).toBeGreaterThan(0);
    expect(stall.open).toBe(1);
  });

  it('close() destroys the connections it still holds', async () => {
    const echo = await startEchoServer();
    const socket = await connect(echo);
    await waitFor(() => echo.open === 1, { description: 'the echo server to see the connection' });
    await echo.close();
    await echo.close(); // idempotent
    await waitForClose(socket);
  });

  it('a refused port answers ECONNREFUSED', async () => {
    const port = await refusedPort();
    await expect(connectTcp(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
