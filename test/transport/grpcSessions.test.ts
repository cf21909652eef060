/**
 * The walk into grpc-js to the HTTP/2 session of a client call, against our server over loopback: if a
 * grpc-js upgrade moves its fields, this fails here instead of leaving servers silently unwatched.
 */
import * as grpc from '@grpc/grpc-js';
import type { Packet } from '../../src/protocol/packet';
import { clientCallSession } from '../../src/transport/grpcSessions';
import { CONNECT_PATH, deserializeIncoming, serializePacket } from '../../src/transport/grpcServices';
import { startH2Server } from '../../src/transport/h2/h2Server';
import type { H2ServerCall } from '../../src/transport/h2/serverCall';
import { waitFor } from '../helpers/waitFor';

it('finds the one session that carries the call, the same one the server sees', async () => {
  let serverCall: H2ServerCall | undefined;
  const server = await startH2Server({
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    routes: {
      [CONNECT_PATH]: (call) => {
        serverCall = call;
        call.accept({ serverid: 'x' });
      },
    },
  });
  const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  const call = client.makeBidiStreamRequest<Packet, Packet>(
    CONNECT_PATH,
    serializePacket,
    deserializeIncoming as (b: Buffer) => Packet,
    new grpc.Metadata(),
    {},
  );
  call.on('error', () => {});
  try {
    await new Promise<void>((resolve) => call.once('metadata', () => resolve()));
    const onServer = (await waitFor(() => serverCall, { description: 'the server call' })).session;
    const onClient = clientCallSession(call);
    expect(onClient).toBeDefined();
    expect(onServer.socket.remotePort).toBe(onClient!.socket.localPort);
    expect(onClient!.socket.remotePort).toBe(server.port);
  } finally {
    call.cancel();
    client.close();
    await server.close();
  }
});
