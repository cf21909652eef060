#!/usr/bin/env node
/**
 * The swarm's baseline: a bare grpc-js server with the same TLS certificate that accepts
 * `/AgentService/Connect`, sends the serverid/servercount headers and holds the stream, doing nothing
 * else. Its memory per stream is what any grpc-js server pays for a TLS + HTTP/2 connection with one
 * open stream; the konnectivity-server's figure is compared with it.
 *
 *   node scripts/bench/grpcBaseline.js '{"cert":"cluster.crt","key":"cluster.key"}'  -> {"event":"ready","port":N}
 */
'use strict';
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const { emit, onStdinCommands, requireDist } = require('./common');

const services = requireDist('transport/grpcServices.js');
const opts = JSON.parse(process.argv[2] || '{}');
const calls = new Set();

const server = new grpc.Server();
server.addService(services.agentServiceDefinition, {
  Connect: (call) => {
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
