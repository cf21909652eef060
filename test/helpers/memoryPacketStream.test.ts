/** The in-memory stream pair keeps the PacketStream contract the actor unit tests rely on. */
import { packets } from '../../src/protocol/packet';
import { waitFor } from './waitFor';
import { MemoryPacketStream, PacketLog } from './memoryPacketStream';

describe('MemoryPacketStream', () => {
  it('returns false past the high-water mark and fires drain once the peer took the queue', async () => {
    const [a, b] = MemoryPacketStream.pair(['a', 'b'], 2);
    const aLog = new PacketLog(a);
    b.pauseReceiving();
    const bLog = new PacketLog(b);
    expect([1n, 2n, 3n].map((id) => a.send(packets.closeRequest(id)))).toEqual([true, true, false]);
    expect(a.unreceived).toBe(3);
    b.resumeReceiving();
    await waitFor(() => aLog.drains === 1, { description: 'drain at the sender' });
    expect(bLog.packets).toEqual([1n, 2n, 3n].map((id) => packets.closeRequest(id)));
  });

  it('calls onWritten when the peer takes the packet, and at once after the stream closed', async () => {
    const [a, b] = MemoryPacketStream.pair();
    new PacketLog(b);
    let written = 0;
    a.send(packets.drain(), () => written++);
    expect(written).toBe(0);
    await waitFor(() => written === 1, { description: 'onWritten' });
    a.close();
    a.send(packets.drain(), () => written++);
    expect(written).toBe(2);
  });

  it('ends the peer with eof after what was queued on close, and with error on abort', async () => {
    const [a, b] = MemoryPacketStream.pair();
    const aLog = new PacketLog(a);
    const bLog = new PacketLog(b);
    a.send(packets.drain());
    a.close();
    await waitFor(() => bLog.end !== null, { description: 'eof at b' });
    expect(bLog.packets).toEqual([packets.drain()]);
    expect(bLog.end).toEqual({ kind: 'eof' });
    b.abort('enough');
    expect(bLog.end).toEqual({ kind: 'eof' }); // already ended: end runs once
    expect(aLog.end).toMatchObject({ kind: 'error', error: new Error('enough') });
  });

  it('delivers bytes that are not a packet as a malformed value', async () => {
    const [a, b] = MemoryPacketStream.pair();
    const bLog = new PacketLog(b);
    a.sendRaw(Buffer.from([0x08, 0x80]));
    await waitFor(() => bLog.malformed.length === 1, { description: 'the malformed value' });
    expect(bLog.packets).toEqual([]);
  });
});
