#!/usr/bin/env node
/**
 * A lightweight swarm of real agent connections: each "agent" is its own gRPC channel (own HTTP/2 + TLS
 * connection, as a real agent has) with one `/AgentService/Connect` stream carrying `agentid` and
 * `agentidentifiers` metadata, using the project's packet codec. It waits for the serverid/servercount
 * headers (what a real agent waits for before it counts a link as up), then holds the stream and ignores
 * whatever the server sends. Starting 1,000 agent processes is not feasible on a 2-core machine; the
 * server cannot tell these streams from real agents.
 *
 *   node scripts/bench/swarm.js '{"target":"127.0.0.1:8132","ca":"ca.crt","prefix":"swarm"}'
 * stdin: {"cmd":"connect","n":980,"parallel":50} -> {"event":"connected",...}; {"cmd":"close"}.
 */
'use strict';
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const { emit, onStdinCommands, nowMs, requireDist } = require('./common');

const services = requireDist('transport/grpcServices.js');
const HEADER_TIMEOUT_MS = 30_000;

const opts = JSON.parse(process.argv[2] || '{}');
const ca = fs.readFileSync(opts.ca);
const links = [];
let counter = 0;

function connectOne(id) {
  return new Promise((resolve, reject) => {
    const client = new grpc.Client(opts.target, grpc.credentials.createSsl(ca), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.ssl_target_name_override': 'localhost',
      'grpc.default_authority': 'localhost',
    });
    const md = new grpc.Metadata();
    md.set('agentid', id);
    md.set('agentidentifiers', '');
    const call = client.makeBidiStreamRequest(
      services.CONNECT_PATH,
      services.serializePacket,
      services.deserializeIncoming,
      md,
      {},
    );
    const link = { id, client, call, up: false };
    const timer = setTimeout(() => fail(new Error('no serverid/servercount headers')), HEADER_TIMEOUT_MS);
    function fail(err) {
      clearTimeout(timer);
      call.cancel();
      client.close();
      reject(err);
    }
    call.on('error', (err) => {
      if (!link.up) fail(err);
      link.up = false;
    });
    call.on('data', () => undefined);
    call.on('metadata', (headers) => {
      if (headers.get('serverid').length !== 1) return fail(new Error('no serverid header'));
      clearTimeout(timer);
      link.up = true;
      links.push(link);
      resolve(link);
    });
  });
}

async function connect(n, parallel) {
  const t0 = nowMs();
  let next = 0;
  let failed = 0;
  const errors = {};
  const worker = async () => {
    while (next < n) {
      next++;
      try {
        await connectOne(`${opts.prefix}-${process.pid}-${++counter}`);
      } catch (err) {
        failed++;
        const key = String(err.message || err).slice(0, 160);
        errors[key] = (errors[key] || 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return { ms: nowMs() - t0, failed, errors };
}

onStdinCommands((cmd) => {
  if (cmd.cmd === 'connect') {
    void connect(cmd.n, cmd.parallel || 50).then((r) =>
      emit({ event: 'connected', total: links.length, up: links.filter((l) => l.up).length, ...r }),
    );
  } else if (cmd.cmd === 'status') {
    emit({ event: 'status', total: links.length, up: links.filter((l) => l.up).length });
  } else if (cmd.cmd === 'close') {
    for (const l of links) {
      l.call.cancel();
      l.client.close();
    }
    emit({ event: 'closed', total: links.length });
  }
});
emit({ event: 'ready', pid: process.pid });
