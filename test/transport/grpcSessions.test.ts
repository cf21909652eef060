/**
 * The walk into grpc-js to the HTTP/2 session of a call, on a real server and client over loopback: if a
 * grpc-js upgrade moves its fields, this fails here instead of leaving peers silently unwatched.
 */
import * as grpc from '@grpc/grpc-js';
import type { Packet } from '../../src/protocol/packet';
import { clientCallSession, serverCallSession } from '../../src/transport/grpcSessions';
import {
  agentServiceDefinition,
  CONNECT_PATH,
  deserializeIncoming,
  serializePacket,
} from '../../src/transport/grpcServices';
import { waitFor } from '../helpers/waitFor';

it('finds the one session that carries the call, on both sides', async () => {
  const server = new grpc.Server();
  let serverCall: grpc.ServerDuplexStream<Packet, Packet> | undefined;
  server.addService(agentServiceDefinition, {
    Connect: (call: grpc.ServerDuplexStream<Packet, Packet>) => {
      serverCall = call;
      call.sendMetadata(new grpc.Metadata());
      call.on('error', () => {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
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
    const onServer = serverCallSession(await waitFor(() => serverCall, { description: 'the server call' }));
    const onClient = clientCallSession(call);
    expect(onServer).toBeDefined();
    expect(onClient).toBeDefined();
    expect(onServer!.socket.remotePort).toBe(onClient!.socket.localPort);
    expect(onClient!.socket.remotePort).toBe(port);
  } finally {
    call.cancel();
    client.close();
    server.forceShutdown();
  }
});
