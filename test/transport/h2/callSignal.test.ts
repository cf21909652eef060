/**
 * A server call's `signal` (what the agent endpoint hands token authentication): aborted when the client
 * gives the call up before it got a status, never because the call ended normally after one.
 */
import * as grpc from '@grpc/grpc-js';
import { CONNECT_PATH } from '../../../src/transport/grpcServices';
import { startH2Server, type H2Server } from '../../../src/transport/h2/h2Server';
import type { H2ServerCall } from '../../../src/transport/h2/serverCall';
import { waitFor } from '../../helpers/waitFor';
import { grpcJsCall } from './peers';

let server: H2Server;
let client: grpc.Client;
let calls: H2ServerCall[];
let mode: 'hold' | 'refuse' | 'finish';

beforeEach(async () => {
  calls = [];
  server = await startH2Server({
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    routes: {
      [CONNECT_PATH]: (call) => {
        calls.push(call);
        if (mode === 'refuse') call.refuse(grpc.status.UNKNOWN, 'no');
        if (mode === 'finish') {
          const stream = call.accept({ serverid: 's' });
          stream.attach({ packet: () => {}, malformed: () => {}, drain: () => {}, end: () => {} });
          stream.close();
        }
      },
    },
  });
  client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
});
afterEach(async () => {
  client.close();
  await server.close();
});

it('aborts when the client cancels a call that is still waiting (an authentication in flight)', async () => {
  mode = 'hold';
  const c = grpcJsCall(client, CONNECT_PATH);
  const call = await waitFor(() => calls[0], { description: 'the call to reach the server' });
  expect(call.signal.aborted).toBe(false);
  c.call.cancel();
  await waitFor(() => call.signal.aborted, { description: 'the signal to abort' });
});

it.each(['refuse', 'finish'] as const)(
  'stays quiet when the call ended with a status (%s), even once the stream is closed',
  async (m) => {
    mode = m;
    const c = grpcJsCall(client, CONNECT_PATH);
    await waitFor(() => c.status !== undefined, { description: 'the status' });
    expect(c.status!.code).toBe(m === 'refuse' ? grpc.status.UNKNOWN : grpc.status.OK);
    c.call.end();
    await waitFor(() => server.stats().streams === 0, { description: 'the stream to close on the server' });
    expect(calls[0]!.signal.aborted).toBe(false);
  },
);

it('is aborted when first asked for after the client gave the call up (the signal is made on demand)', async () => {
  mode = 'hold';
  const c = grpcJsCall(client, CONNECT_PATH);
  await waitFor(() => calls[0], { description: 'the call to reach the server' });
  c.call.cancel();
  await waitFor(() => server.stats().streams === 0, { description: 'the stream to close on the server' });
  const signal = calls[0]!.signal;
  expect(signal.aborted).toBe(true);
  expect(calls[0]!.signal).toBe(signal);
});
