/**
 * The npm package as a user gets it: `npm pack` (its prepack builds dist/) on a copy of this checkout, then
 * `npm install --omit=dev --engine-strict <tarball>` into an empty directory, then every binary from that
 * install: --version and --help for each, and the installed server, agent and client carrying a request
 * together, on this machine's Node and again on the oldest Node that `engines` admits (a real binary of that
 * version, see test/helpers/oldestNode.ts), so the stated range is one the code really runs on.
 *
 * The pack runs on a copy because prepack rebuilds dist/, which the end-to-end tests running beside this
 * one are executing.
 */
import { spawn } from 'child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { generateTlsMaterial, type TlsFiles } from '../../src/tools/certs';
import { scrapeMetrics } from '../helpers/metrics';
import { enginesFloor, oldestNode } from '../helpers/oldestNode';
import { freePorts } from '../helpers/ports';
import { startProcess, stopAllProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS } from '../e2e/cluster';

// A TypeScript build, an npm install and (once per machine) fetching the oldest Node: minutes on a busy machine.
jest.setTimeout(10 * 60_000);

const ROOT = path.join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr = (stderr + t).slice(-20_000)));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function runOk(command: string, args: readonly string[], cwd: string): Promise<Run> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

let work: string;
let tarball: string;
let files: string[];
let installed: string;
let tls: TlsFiles;
let web: http.Server;
let floorNode: string;
const FLOOR = enginesFloor();

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-npm-pack-'));
  const checkout = path.join(work, 'checkout');
  // What git would check out: sources and metadata, not the build output or other engineers' leftovers.
  cpSync(ROOT, checkout, {
    recursive: true,
    filter: (src) =>
      !/\/(node_modules|dist|build|\.git|coverage|bench-results|bench-build|\.demo)$/.test(src),
  });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'));
  const packed = await runOk('npm', ['pack', '--json', '--pack-destination', work], checkout);
  const info = (JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[])[0]!;
  tarball = path.join(work, info.filename);
  files = info.files.map((f) => f.path);

  installed = path.join(work, 'installed');
  mkdirSync(installed);
  await runOk(
    'npm',
    ['install', '--omit=dev', '--engine-strict', '--no-audit', '--no-fund', '--no-package-lock', tarball],
    installed,
  );
  floorNode = oldestNode();
  tls = await generateTlsMaterial(path.join(work, 'tls'));
  web = http.createServer((req, res) => res.end(`installed tunnel reached ${req.url}\n`));
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await stopAllProcesses();
  web?.closeAllConnections();
  await new Promise((r) => web?.close(r));
  if (work) rmSync(work, { recursive: true, force: true });
});

const bin = (name: string): string => path.join(installed, 'node_modules', '.bin', name);

/** A flag only that binary has, so each --help is shown to be its own binary's. */
const HELP_TEXT: Readonly<Record<string, RegExp>> = {
  'konnectivity-server': /--agent-namespace\b/,
  'konnectivity-agent': /--proxy-server-host\b/,
  'konnectivity-events': /usage: konnectivity-events/,
  'konnectivity-client': /--connect-only\b/,
  'konnectivity-inspector': /--listen\b/,
};

/** How each Node runs an installed binary: this one through the launcher's own `#!/usr/bin/env node`. */
interface Runtime {
  readonly label: string;
  readonly version: () => string;
  command(name: string, args: readonly string[]): [string, string[]];
}
const RUNTIMES: readonly Runtime[] = [
  {
    label: 'this Node',
    version: () => process.version,
    command: (name, args) => [bin(name), [...args]],
  },
  {
    label: `Node ${FLOOR} (the oldest engines admits)`,
    version: () => `v${FLOOR}`,
    command: (name, args) => [floorNode, [bin(name), ...args]],
  },
];
const eachRuntimeAndBin = RUNTIMES.flatMap((r) =>
  Object.keys(pkg.bin).map((name) => [r.label, name, r] as const),
);

it("packs the compiled code, the launchers, the license and the native helper's source, and no TypeScript sources, tests, benchmark or source maps", () => {
  expect(files).toEqual(
    expect.arrayContaining([
      'package.json',
      'LICENSE',
      'README.md',
      'CHANGELOG.md',
      'dist/main-server.js',
      'dist/main-agent.js',
      'dist/cli/events.js',
      'dist/cli/client.js',
      'binding.gyp',
      'native/memory.c',
      'scripts/build-native.js',
      ...Object.values(pkg.bin),
    ]),
  );
  expect(
    files.filter(
      (f) =>
        f !== 'scripts/build-native.js' &&
        /^(src|test|scripts|bench|bench-build|build)\/|\.map$|^tsconfig/.test(f),
    ),
  ).toEqual([]);
});

it('builds the native memory helper at install, and the installed server loads it', async () => {
  const root = path.join(installed, 'node_modules', pkg.name);
  const script = `const m = require(${JSON.stringify(path.join(root, 'dist/nativeMemory.js'))}); process.stdout.write(String(m.nativeMemoryProblem()));`;
  expect(await runOk(process.execPath, ['-e', script], installed)).toMatchObject({ stdout: 'null' });
});

it('installs with production dependencies only, every engines range satisfied by this Node', () => {
  const modules = readdirSync(path.join(installed, 'node_modules'));
  expect(modules).toContain('xstate');
  for (const dev of ['typescript', 'jest', 'eslint', '@swc', 'prettier']) expect(modules).not.toContain(dev);
});

it.each(eachRuntimeAndBin)('on %s the installed %s runs: --version', async (_label, name, runtime) => {
  const result = await run(...runtime.command(name, ['--version']), installed);
  expect(result).toEqual({
    code: 0,
    stdout: `${name} v${pkg.version} (node ${runtime.version()})\n`,
    stderr: '',
  });
});

it.each(eachRuntimeAndBin)('on %s the installed %s runs: --help', async (_label, name, runtime) => {
  const result = await run(...runtime.command(name, ['--help']), installed);
  expect(result).toMatchObject({ code: 0, stderr: '' });
  expect(result.stdout).toMatch(HELP_TEXT[name] ?? /no --help text known for this binary/);
});

it.each(RUNTIMES.map((r) => [r.label, r] as const))(
  'on %s the installed server, agent and client carry a request through the tunnel',
  async (_label, runtime) => {
    const [agentPort, adminPort, healthPort, agentAdmin, agentHealth] = await freePorts(5);
    const dir = mkdtempSync(path.join(work, 'tunnel-'));
    const socket = path.join(dir, 'server.sock');
    const server = startProcess(
      ...runtime.command('konnectivity-server', [
        '--mode=http-connect',
        `--uds-name=${socket}`,
        '--server-port=0',
        `--cluster-cert=${tls.clusterCert}`,
        `--cluster-key=${tls.clusterKey}`,
        `--agent-port=${agentPort}`,
        '--agent-bind-address=127.0.0.1',
        `--admin-port=${adminPort}`,
        `--health-port=${healthPort}`,
        '--health-bind-address=127.0.0.1',
        `--data-dir=${path.join(dir, 'server-data')}`,
      ]),
      { name: 'installed server' },
    );
    await server.waitForHttp(`http://127.0.0.1:${healthPort}/healthz`, { timeoutMs: 30_000 });
    expect(await server.waitForOutput(/konnectivity server started/)).toContain(`version="${pkg.version}"`);
    const agent = startProcess(
      ...runtime.command('konnectivity-agent', [
        `--ca-cert=${tls.caCert}`,
        '--proxy-server-host=127.0.0.1',
        `--proxy-server-port=${agentPort}`,
        `--admin-server-port=${agentAdmin}`,
        `--health-server-port=${agentHealth}`,
        '--health-server-host=127.0.0.1',
        `--data-dir=${path.join(dir, 'agent-data')}`,
      ]),
      { name: 'installed agent' },
    );
    await agent.waitForHttp(`http://127.0.0.1:${agentHealth}/healthz`, { timeoutMs: 30_000 });
    await waitFor(
      async () => (await scrapeMetrics(`http://127.0.0.1:${healthPort}/metrics`)).value(READY_BACKENDS) === 1,
      { description: 'the agent connected', timeoutMs: 20_000 },
    );
    const result = await run(
      ...runtime.command('konnectivity-client', [
        '--mode=http-connect',
        `--proxy-uds=${socket}`,
        '--request-host=127.0.0.1',
        `--request-port=${(web.address() as AddressInfo).port}`,
        '--request-path=/via-npm',
      ]),
      installed,
    );
    expect(result).toEqual({ code: 0, stdout: 'installed tunnel reached /via-npm\n', stderr: '' });
    await agent.stop();
    await server.stop();
    const events = await run(
      ...runtime.command('konnectivity-events', ['tail', `--data-dir=${path.join(dir, 'server-data')}`]),
      installed,
    );
    expect(events.code).toBe(0);
    expect(events.stdout).toMatch(/dial\.established/);
  },
);
