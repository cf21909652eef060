/**
 * The container image without a container engine: scripts/image-tree.js carries out the Dockerfile (every
 * stage, RUN lines included) and leaves the final stage's file tree; this test then starts /proxy-server
 * and /proxy-agent from that tree as the image's USER, chrooted into it (no shell, no /usr/bin/env, no
 * devDependencies exist there), and carries a gRPC request through the tunnel.
 *
 * Without root (no chroot) the binaries run from the tree's own node by path instead, and the test says so.
 */
import { spawn, spawnSync } from 'child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
} from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { dialViaGrpc } from '../../src/client';
import { NATIVE_MEMORY_FILE } from '../../src/nativeMemory';
import { generateTlsMaterial } from '../../src/tools/certs';
import { httpGet } from '../helpers/http';
import { scrapeMetrics } from '../helpers/metrics';
import { freePorts } from '../helpers/ports';
import { startProcess, stopAllProcesses, type ManagedProcess } from '../helpers/processes';
import { readUntilEnd, writeAll } from '../helpers/tcpClient';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS } from '../e2e/cluster';

// Carrying out the Dockerfile runs `npm ci` twice and the TypeScript build: minutes on a busy machine.
jest.setTimeout(15 * 60_000);

const ROOT = path.join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Kamaji's (and the reference images') names for the two programs; the other binaries keep their own. */
const IMAGE_NAMES: Readonly<Record<string, string>> = {
  'konnectivity-server': 'proxy-server',
  'konnectivity-agent': 'proxy-agent',
};
/** Each binary of package.json `bin` at its path in the image. */
const IMAGE_FILES = Object.keys(pkg.bin).map((name) => IMAGE_NAMES[name] ?? name);

interface ImageConfig {
  readonly user: string;
  readonly env: Record<string, string>;
  readonly entrypoint: string[];
}

let out: string;
let rootfs: string;
let config: ImageConfig;
let web: http.Server;
const chrootable = process.getuid?.() === 0;

/** The environment of a container of the image: the base image's PATH and the Dockerfile's ENV, nothing else. */
const imageEnv = (): string[] =>
  Object.entries({ PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...config.env }).map(
    ([k, v]) => `${k}=${v}`,
  );

/**
 * argv that runs `file` (a path inside the image) the way the container runtime would: `env -i` so that
 * nothing of the test machine's environment (GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, NODE_OPTIONS...) leaks in.
 */
function imageCommand(file: string, args: readonly string[]): [string, string[]] {
  const run = chrootable
    ? ['/usr/sbin/chroot', `--userspec=${config.user}`, rootfs, file, ...args]
    : [path.join(rootfs, 'usr/local/bin/node'), path.join(rootfs, file), ...args];
  return ['/usr/bin/env', ['-i', ...imageEnv(), ...run]];
}

/** Host paths of files made for the image are given to it as paths inside the image. */
const inImage = (hostPath: string): string => (chrootable ? `/${path.relative(rootfs, hostPath)}` : hostPath);

function startInImage(file: string, args: readonly string[], name: string): ManagedProcess {
  const [command, argv] = imageCommand(file, args);
  return startProcess(command, argv, { name });
}

/** A tree made earlier by scripts/image-tree.js, to iterate on this test without rebuilding it. */
const REUSE = process.env['KONNECTIVITY_TEST_IMAGE_TREE'];

async function assemble(): Promise<void> {
  out = mkdtempSync(path.join(tmpdir(), 'knp-image-tree-'));
  const run = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/image-tree.js'), '--out', out], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr = (stderr + t).slice(-20_000)));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
  if (run.code !== 0) throw new Error(`scripts/image-tree.js failed:\n${run.stderr}`);
}

beforeAll(async () => {
  if (REUSE) console.warn(`reusing the image tree in ${REUSE}`);
  else await assemble();
  const tree = REUSE ?? out;
  rootfs = path.join(tree, 'rootfs');
  config = JSON.parse(readFileSync(path.join(tree, 'config.json'), 'utf8')) as ImageConfig;
  web = http.createServer((req, res) => res.end(`node says hi to ${req.url}\n`));
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  if (!chrootable) console.warn('not root: the image tree runs by path, not chrooted as the image user');
});
afterAll(async () => {
  await stopAllProcesses();
  web?.closeAllConnections();
  await new Promise((r) => web?.close(r));
  if (out) rmSync(out, { recursive: true, force: true });
});

it('has the executables Kamaji runs at exactly /proxy-server and /proxy-agent, and the others beside them', () => {
  expect(IMAGE_FILES).toEqual(expect.arrayContaining(['proxy-server', 'proxy-agent']));
  for (const file of IMAGE_FILES) {
    expect(statSync(path.join(rootfs, file)).mode & 0o111).not.toBe(0);
    // The image's node by its absolute path, plus at most one flag (the kernel passes one argument).
    expect(readFileSync(path.join(rootfs, file), 'utf8')).toMatch(
      /^#!\/usr\/local\/bin\/node(?: --[a-z-]+(?:=\S+)?)?\n/,
    );
  }
  expect(config.entrypoint).toEqual(['/proxy-server']);
});

it('runs as a numeric non-root user and has no shell to need', () => {
  expect(config.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
  for (const shell of ['bin/sh', 'bin/bash', 'usr/bin/env'])
    expect(existsSync(path.join(rootfs, shell))).toBe(false);
});

it('holds production dependencies only', () => {
  const modules = path.join(rootfs, 'app/node_modules');
  for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(path.join(modules, dep))).toBe(true);
  for (const dev of Object.keys(pkg.devDependencies)) {
    // A dev tool may arrive as some production dependency's own dependency (protobufjs needs @types/node).
    if (dev === '@types/node' || dev === 'protobufjs') continue;
    expect([dev, existsSync(path.join(modules, dev))]).toEqual([dev, false]);
  }
});

/** Every symbolic link under `dir` (a path inside the image), with its target as written. */
function linksUnder(dir: string): { link: string; target: string }[] {
  const out: { link: string; target: string }[] = [];
  for (const entry of readdirSync(path.join(rootfs, dir), { recursive: true, encoding: 'utf8' })) {
    const link = path.posix.join(dir, entry);
    if (lstatSync(path.join(rootfs, link)).isSymbolicLink()) {
      out.push({ link, target: readlinkSync(path.join(rootfs, link)) });
    }
  }
  return out;
}

it('has only links that resolve inside the image (node_modules/.bin), as COPY leaves them', () => {
  const links = linksUnder('app');
  expect(links.length).toBeGreaterThan(0);
  for (const { link, target } of links) {
    const inImage = path.posix.resolve(path.posix.dirname(`/${link}`), target);
    expect([link, target.startsWith('/'), existsSync(path.join(rootfs, inImage))]).toEqual([
      link,
      false,
      true,
    ]);
  }
});

it.each(IMAGE_FILES)('/%s --version answers from inside the image', (file) => {
  const [command, argv] = imageCommand(`/${file}`, ['--version']);
  const run = spawnSync(command, argv, { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.stdout).toMatch(new RegExp(`^konnectivity-\\w+ v${pkg.version.replace(/\./g, '\\.')} `));
  expect(run.status).toBe(0);
});

it('/proxy-server and /proxy-agent from the tree carry a gRPC request through the tunnel', async () => {
  const shared = mkdtempSync(path.join(rootfs, 'tmp', 'run-'));
  const tls = await generateTlsMaterial(path.join(shared, 'tls'));
  spawnSync('chmod', ['-R', 'a+rX', shared]); // the image user reads what root wrote...
  chmodSync(shared, 0o777); // ...and writes where a pod's emptyDir would let it
  const [agentPort, adminPort, healthPort, agentAdmin, agentHealth] = await freePorts(5);
  const socket = path.join(shared, 'konnectivity-server.socket');
  const server = startInImage(
    '/proxy-server',
    [
      '--mode=grpc',
      `--uds-name=${inImage(socket)}`,
      '--server-port=0',
      `--cluster-cert=${inImage(tls.clusterCert)}`,
      `--cluster-key=${inImage(tls.clusterKey)}`,
      `--agent-port=${agentPort}`,
      '--agent-bind-address=127.0.0.1',
      `--admin-port=${adminPort}`,
      `--health-port=${healthPort}`,
      '--health-bind-address=127.0.0.1',
      `--data-dir=${inImage(path.join(shared, 'server-data'))}`,
    ],
    'image:proxy-server',
  );
  await server.waitForHttp(`http://127.0.0.1:${healthPort}/healthz`, { timeoutMs: 30_000 });
  expect(readFileSync(`/proc/${server.pid}/status`, 'utf8')).toMatch(
    chrootable ? new RegExp(`\\nUid:\\s+${config.user.split(':')[0]}\\s`) : /\nUid:/,
  );
  const agent = startInImage(
    '/proxy-agent',
    [
      `--ca-cert=${inImage(tls.caCert)}`,
      '--proxy-server-host=127.0.0.1',
      `--proxy-server-port=${agentPort}`,
      `--admin-server-port=${agentAdmin}`,
      `--health-server-port=${agentHealth}`,
      '--health-server-host=127.0.0.1',
      '--agent-id=image-node',
      `--data-dir=${inImage(path.join(shared, 'agent-data'))}`,
    ],
    'image:proxy-agent',
  );
  await agent.waitForHttp(`http://127.0.0.1:${agentHealth}/healthz`, { timeoutMs: 30_000 });
  await waitFor(
    async () => (await scrapeMetrics(`http://127.0.0.1:${healthPort}/metrics`)).value(READY_BACKENDS) === 1,
    { description: 'the agent connected', timeoutMs: 20_000 },
  );
  const tunnel = await dialViaGrpc({
    target: `unix://${socket}`,
    address: `127.0.0.1:${(web.address() as AddressInfo).port}`,
    timeoutMs: 10_000,
  });
  await writeAll(tunnel, 'GET /from-the-image HTTP/1.0\r\nHost: node\r\n\r\n');
  const response = (await readUntilEnd(tunnel)).toString();
  expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
  expect(response).toContain('node says hi to /from-the-image');
  // The inspector's page files are in the image too (served from /app/inspector-ui).
  const page = await httpGet(`http://127.0.0.1:${adminPort}/inspector/`);
  expect(page.status).toBe(200);
  expect(page.body).toMatch(/<html/i); // Both loaded the native memory helper the image carries (they say so at start-up when they cannot).
  expect(existsSync(path.join(rootfs, 'app', NATIVE_MEMORY_FILE))).toBe(true);
  for (const proc of [server, agent]) expect(proc.output()).not.toMatch(/free heap is not given back/);
});
