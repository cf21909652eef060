/**
 * The swarm's baseline: a bare grpc-js server with the same TLS certificate that accepts
 * `/AgentService/Connect`, sends the serverid/servercount headers and holds the stream, doing nothing
 * else. Its memory and CPU per stream are what any grpc-js server pays for a TLS + HTTP/2 connection with
 * one open stream (or for one more stream on a shared connection); the konnectivity-server's figures are
 * compared with it.
 *
 *   node bench-build/bench/grpcBaseline.js '{"cert":"cluster.crt","key":"cluster.key"}'  -> {"event":"ready","port":N}
 */
import * as grpc from '@grpc/grpc-js';
import * as fs from 'fs';
import { agentServiceDefinition } from '../src/transport/grpcServices';
import { emit, jsonArg, onStdinCommands } from './common';

const opts = jsonArg<{ cert: string; key: string }>(process.argv[2]);
const calls = new Set<grpc.ServerDuplexStream<unknown, unknown>>();

const server = new grpc.Server();
server.addService(agentServiceDefinition, {
  Connect: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
    const md = new grpc.Metadata();
    md.set('serverid', 'baseline');
    md.set('servercount', '1');
    call.sendMetadata(md);
    calls.add(call);
    call.on('data', () => undefined);
    call.on('error', () => calls.delete(call));
    call.on('end', () => {
      calls.delete(call);
      call.end();
    });
  },
});
const creds = grpc.ServerCredentials.createSsl(
  null,
  [{ cert_chain: fs.readFileSync(opts.cert), private_key: fs.readFileSync(opts.key) }],
  false,
);
server.bindAsync('127.0.0.1:0', creds, (err, port) => {
  if (err) {
    emit({ event: 'error', error: String(err) });
    process.exit(1);
  }
  emit({ event: 'ready', pid: process.pid, port });
});
onStdinCommands((cmd) => {
  if (cmd.cmd === 'stats') emit({ event: 'stats', streams: calls.size });
});
