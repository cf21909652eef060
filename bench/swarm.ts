/**
 * A lightweight swarm of agent connections, in its own process: each "agent" is a `/AgentService/Connect`
 * stream carrying `agentid` and `agentidentifiers` metadata, using the project's packet codec. It waits for
 * the serverid/servercount headers (what a real agent waits for before it counts a link as up), then holds
 * the stream and ignores whatever the server sends. Starting 1,000 agent processes is not feasible on a
 * 2-core machine; the server cannot tell these streams from real agents.
 *
 * Two shapes: `shared: false` gives every agent its own channel and so its own HTTP/2 + TLS connection, as a
 * real agent has (grpc-js channels in one process share one connection per target unless
 * `grpc.use_local_subchannel_pool` is set, so it is set); `shared: true` opens every stream on one channel:
 * 1,000 agent streams multiplexed on one connection.
 *
 *   node bench-build/bench/swarm.js '{"target":"127.0.0.1:8132","ca":"ca.crt","prefix":"swarm","shared":false}'
 * stdin: {"cmd":"connect","n":980,"parallel":50} -> {"event":"connected",...}; {"cmd":"close"}.
 */
import * as grpc from '@grpc/grpc-js';
import * as fs from 'fs';
import {
  CONNECT_PATH,
  deserializeIncoming,
  serializePacket,
  type Incoming,
} from '../src/transport/grpcServices';
import type { Packet } from '../src/protocol/packet';
import { emit, errorText, jsonArg, nowMs, onStdinCommands } from './common';

/** A server that has not sent its headers within this long is not going to (30 s: 10,000 TLS handshakes queue). */
const HEADER_TIMEOUT_MS = 30_000;

interface Options {
  target: string;
  ca: string;
  prefix: string;
  shared?: boolean;
}

interface Link {
  id: string;
  client: grpc.Client;
  call: grpc.ClientDuplexStream<Packet, Incoming>;
  up: boolean;
}

const opts = jsonArg<Options>(process.argv[2]);
const ca = fs.readFileSync(opts.ca);
const links: Link[] = [];
let counter = 0;

const newClient = (): grpc.Client =>
  new grpc.Client(opts.target, grpc.credentials.createSsl(ca), {
    // Own subchannel pool: this channel gets its own connection instead of sharing the process's one.
    ...(opts.shared ? {} : { 'grpc.use_local_subchannel_pool': 1 }),
    'grpc.ssl_target_name_override': 'localhost',
    'grpc.default_authority': 'localhost',
  });
const sharedClient = opts.shared ? newClient() : undefined;

function connectOne(id: string): Promise<Link> {
  return new Promise((resolve, reject) => {
    const client = sharedClient ?? newClient();
    const md = new grpc.Metadata();
    md.set('agentid', id);
    md.set('agentidentifiers', '');
    const call = client.makeBidiStreamRequest(CONNECT_PATH, serializePacket, deserializeIncoming, md, {});
    const link: Link = { id, client, call, up: false };
    const fail = (err: Error): void => {
      clearTimeout(timer);
      call.cancel();
      if (!sharedClient) client.close();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error('no serverid/servercount headers')), HEADER_TIMEOUT_MS);
    call.on('error', (err: Error) => {
      if (!link.up) fail(err);
      link.up = false;
    });
    call.on('data', () => undefined);
    call.on('metadata', (headers: grpc.Metadata) => {
      if (headers.get('serverid').length !== 1) return fail(new Error('no serverid header'));
      clearTimeout(timer);
      link.up = true;
      links.push(link);
      resolve(link);
    });
  });
}

async function connect(n: number, parallel: number) {
  const t0 = nowMs();
  let next = 0;
  let failed = 0;
  const errors: Record<string, number> = {};
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      try {
        await connectOne(`${opts.prefix}-${process.pid}-${++counter}`);
      } catch (err) {
        failed++;
        const key = errorText(err).slice(0, 160);
        errors[key] = (errors[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return { ms: nowMs() - t0, failed, errors };
}

onStdinCommands((cmd) => {
  if (cmd.cmd === 'connect') {
    void connect(Number(cmd.n), Number(cmd.parallel ?? 50)).then((r) =>
      emit({ event: 'connected', total: links.length, up: links.filter((l) => l.up).length, ...r }),
    );
  } else if (cmd.cmd === 'status') {
    emit({ event: 'status', total: links.length, up: links.filter((l) => l.up).length });
  } else if (cmd.cmd === 'close') {
    for (const l of links) {
      l.call.cancel();
      if (!sharedClient) l.client.close();
    }
    sharedClient?.close();
    emit({ event: 'closed', total: links.length });
  }
});
emit({ event: 'ready', pid: process.pid });
