#!/usr/bin/env node
/**
 * The main job: starts a real konnectivity-server and konnectivity-agent on loopback with freshly generated
 * TLS material, sends a real HTTP request through the tunnel in both frontend modes (gRPC and HTTP CONNECT,
 * each on a Unix socket as kube-apiserver uses them), and prints what happened, with the URL of each
 * process's inspector. With `--keep` (npm run demo -- --keep) the last stack stays up with a trickle of
 * traffic through it, plus the fleet inspector over the server's event log, until Ctrl-C.
 */
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const dist = (p) => require(path.join(root, 'dist', p));
const { generateTlsMaterial } = dist('tools/certs.js');
const { dialViaGrpc } = dist('client/grpcTunnel.js');
const { dialViaHttpConnect } = dist('client/httpConnectTunnel.js');

const KEEP = process.argv.includes('--keep');
/** --keep: a new tunnel this often, each held for up to TRICKLE_HOLD_MS: enough to watch, not a load test. */
const TRICKLE_INTERVAL_MS = 700;
const TRICKLE_HOLD_MS = 4000;

const children = new Set();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function start(name, bin, args, logFile) {
  const out = fs.openSync(logFile, 'w');
  const child = spawn(path.join(root, 'bin', bin), args, { stdio: ['ignore', out, out] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** How long a process of the demo gets to answer: start-up on a loaded machine, well short of a hang. */
const READY_TIMEOUT_MS = 15000;

async function waitReady(port, what, urlPath = '/readyz') {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const status = await new Promise((resolve) => {
      http
        .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
        .on('error', () => resolve(0));
    });
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${what} did not become ready on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function scrape(port, names) {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text.split('\n').filter((l) => names.some((n) => l.startsWith(n)))));
      })
      .on('error', () => resolve([]));
  });
}

/** Sends an HTTP/1.0 GET over an established tunnel and returns the raw response. */
function httpGetOver(tunnel, target) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    tunnel.on('data', (c) => chunks.push(c));
    tunnel.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    tunnel.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    tunnel.on('error', reject);
    tunnel.write(`GET /hello HTTP/1.0\r\nHost: ${target}\r\n\r\n`);
  });
}

/** Until SIGINT: tunnels opening, carrying a request, staying open a while and closing, a few at a time. */
async function trickle(dial, target) {
  let stop = false;
  process.once('SIGINT', () => (stop = true));
  process.once('SIGTERM', () => (stop = true));
  let n = 0;
  while (!stop) {
    n++;
    dial()
      .then(async (tunnel) => {
        // Open for a while first (so the page shows it open), then a request, which the target answers and closes.
        await new Promise((r) => setTimeout(r, Math.random() * TRICKLE_HOLD_MS));
        await httpGetOver(tunnel, target);
        tunnel.destroy();
      })
      .catch(() => undefined);
    // Now and then a dial that fails (a refused port), so the feed shows failures too.
    if (n % 10 === 0) dial('127.0.0.1:1').catch(() => undefined);
    await new Promise((r) => setTimeout(r, TRICKLE_INTERVAL_MS));
  }
}

async function runMode(mode, dir, tls, targetPort, keep) {
  const [agentPort, adminPort, healthPort, agentHealth, agentAdmin, fleetPort] = await freePorts(6);
  const socketPath = path.join(dir, `konnectivity-${mode}.sock`);
  const server = start(
    'server',
    'konnectivity-server',
    [
      `--mode=${mode}`,
      `--uds-name=${socketPath}`,
      '--delete-existing-uds-file',
      '--server-port=0',
      `--cluster-cert=${tls.clusterCert}`,
      `--cluster-key=${tls.clusterKey}`,
      `--agent-port=${agentPort}`,
      `--admin-port=${adminPort}`,
      `--health-port=${healthPort}`,
      '--server-id=demo-server',
      `--data-dir=${path.join(dir, `server-${mode}`)}`,
    ],
    path.join(dir, `server-${mode}.log`),
  );
  const agent = start(
    'agent',
    'konnectivity-agent',
    [
      `--ca-cert=${tls.caCert}`,
      '--proxy-server-host=127.0.0.1',
      `--proxy-server-port=${agentPort}`,
      `--health-server-port=${agentHealth}`,
      `--admin-server-port=${agentAdmin}`,
      '--agent-id=demo-node',
      '--agent-identifiers=host=localhost&ipv4=127.0.0.1',
      `--data-dir=${path.join(dir, `agent-${mode}`)}`,
    ],
    path.join(dir, `agent-${mode}.log`),
  );
  try {
    await waitReady(healthPort, 'server');
    await waitReady(agentHealth, 'agent');
    console.log(`\n== ${mode} frontend on ${socketPath}`);
    console.log(`   server ready (agent port ${agentPort}), agent demo-node connected over TLS`);
    const target = `127.0.0.1:${targetPort}`;
    const started = process.hrtime.bigint();
    const tunnel =
      mode === 'grpc'
        ? await dialViaGrpc({ target: `unix://${socketPath}`, address: target, timeoutMs: 5000 })
        : await dialViaHttpConnect({ socketPath, address: target, timeoutMs: 5000 });
    const dialMs = Number(process.hrtime.bigint() - started) / 1e6;
    const response = await httpGetOver(tunnel, target);
    const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
    const [statusLine] = response.split('\r\n');
    const body = response.split('\r\n\r\n')[1] || '';
    console.log(`   dial to ${target} through the tunnel: ${dialMs.toFixed(1)} ms`);
    console.log(
      `   GET /hello -> ${statusLine} (${Buffer.byteLength(response)} bytes, ${totalMs.toFixed(1)} ms): ${body.trim()}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    const serverMetrics = await scrape(healthPort, [
      'konnectivity_network_proxy_server_ready_backend_connections',
      'konnectivity_network_proxy_server_dial_duration_seconds_count',
      'konnectivity_network_proxy_server_established_connections',
    ]);
    const agentMetrics = await scrape(agentHealth, [
      'konnectivity_network_proxy_agent_open_server_connections',
      'konnectivity_network_proxy_agent_open_endpoint_connections',
    ]);
    for (const line of [...serverMetrics, ...agentMetrics]) console.log(`   ${line}`);
    if (!statusLine.includes('200')) throw new Error(`unexpected response: ${statusLine}`);
    console.log(`   inspector of the server: http://127.0.0.1:${adminPort}/inspector/`);
    console.log(`   inspector of the agent:  http://127.0.0.1:${agentAdmin}/inspector/`);
    if (keep) {
      start(
        'inspector',
        'konnectivity-inspector',
        [`--listen=127.0.0.1:${fleetPort}`, `--data-dir=${path.join(dir, `server-${mode}`)}`],
        path.join(dir, 'inspector.log'),
      );
      // Printed once it answers: a URL opened the moment it appears must not be refused.
      await waitReady(fleetPort, 'fleet inspector', '/inspector/api/info');
      console.log(`   fleet inspector over the server's event log: http://127.0.0.1:${fleetPort}/inspector/`);
      console.log('\n--keep: the stack stays up with a trickle of traffic; Ctrl-C stops it.');
      const dial = (address = target) =>
        mode === 'grpc'
          ? dialViaGrpc({ target: `unix://${socketPath}`, address, timeoutMs: 5000 })
          : dialViaHttpConnect({ socketPath, address, timeoutMs: 5000 });
      await trickle(dial, target);
    }
  } finally {
    // The fleet inspector of --keep too: a child left running would keep the demo alive.
    for (const child of children) if (child !== server) child.kill('SIGKILL');
    agent.kill('SIGKILL');
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r() : server.once('exit', r)));
  }
  // The server's lifecycle log (embedded under its --data-dir), as an operator would read it.
  const events = spawnSync(
    path.join(root, 'bin', 'konnectivity-events'),
    ['tail', `--data-dir=${path.join(dir, `server-${mode}`)}`],
    { encoding: 'utf8' },
  );
  console.log('   the server recorded:');
  for (const line of events.stdout.trim().split('\n')) console.log(`     ${line}`);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'konnectivity-demo-'));
  const tls = await generateTlsMaterial(path.join(dir, 'tls'));
  console.log(`TLS material (CA, agent-endpoint and frontend certificates) generated in ${tls.dir}`);
  const target = http.createServer((req, res) => res.end(`hello from the node, you asked for ${req.url}\n`));
  await new Promise((r) => target.listen(0, '127.0.0.1', r));
  console.log(`target HTTP server (standing in for a kubelet) on 127.0.0.1:${target.address().port}`);
  try {
    const modes = ['grpc', 'http-connect'];
    for (const mode of modes) {
      await runMode(mode, dir, tls, target.address().port, KEEP && mode === modes[modes.length - 1]);
    }
    console.log(`\nboth modes worked; logs are in ${dir}`);
  } finally {
    target.close();
  }
}

main().catch((err) => {
  console.error(`demo failed: ${err.stack || err}`);
  process.exit(1);
});
