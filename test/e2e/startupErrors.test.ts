/**
 * Start-up errors, with the real binaries: exit status 1 and exactly one klog line on stderr that names the
 * flag and the file, with nothing (grpc-js lines included) before it.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { freePorts } from '../helpers/ports';
import { useTlsDir } from '../helpers/tls';
import { AGENT_BIN, SERVER_BIN } from './cluster';

jest.setTimeout(60_000);

/** Only stops a binary that hangs instead of exiting; a correct one exits at once. */
const HUNG_BINARY_KILL_MS = 30_000;

const tls = useTlsDir();
let work: string;
let junk: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-startup-'));
  junk = path.join(work, 'junk.pem');
  writeFileSync(junk, 'this is not PEM\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(bin: string, args: string[]): { status: number | null; lines: string[] } {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: HUNG_BINARY_KILL_MS, killSignal: 'SIGKILL' });
  return { status: r.status, lines: r.stderr.split('\n').filter((l) => l.length > 0) };
}

async function serverArgs(overrides: Record<string, string>): Promise<string[]> {
  const [agent, admin, health] = await freePorts(3);
  const flags: Record<string, string> = {
    'uds-name': path.join(work, `s-${agent}.sock`),
    'server-port': '0',
    'cluster-cert': tls().clusterCert,
    'cluster-key': tls().clusterKey,
    'agent-port': String(agent),
    'agent-bind-address': '127.0.0.1',
    'admin-port': String(admin),
    'health-port': String(health),
    'health-bind-address': '127.0.0.1',
    'data-dir': path.join(work, `data-${agent}`),
    ...overrides,
  };
  return Object.entries(flags).map(([k, v]) => `--${k}=${v}`);
}

const klogError = (component: string, text: string): RegExp =>
  new RegExp(
    `^E\\d{4} [\\d:.]+ +\\d+ ${component}\\] ".*failed to start" err="${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"$`,
  );

it('server: a --cluster-cert without a certificate', async () => {
  const r = run(SERVER_BIN, await serverArgs({ 'cluster-cert': junk }));
  expect(r.status).toBe(1);
  expect(r.lines).toHaveLength(1);
  expect(r.lines[0]).toMatch(klogError('server', `--cluster-cert=${junk}: no PEM certificate found`));
});

it('server: a --cluster-key without a private key', async () => {
  const r = run(SERVER_BIN, await serverArgs({ 'cluster-key': junk }));
  expect(r.status).toBe(1);
  expect(r.lines).toHaveLength(1);
  expect(r.lines[0]).toMatch(klogError('server', `--cluster-key=${junk}: no PEM private key found`));
});

it('server: a --uds-name in a directory that does not exist, with no grpc-js line before it', async () => {
  const socket = path.join(work, 'no-such-dir', 'konnectivity.sock');
  const r = run(SERVER_BIN, await serverArgs({ 'uds-name': socket }));
  expect(r.status).toBe(1);
  expect(r.lines).toHaveLength(1);
  expect(r.lines[0]).toMatch(
    klogError('server', `--uds-name=${socket}: directory ${path.dirname(socket)} does not exist`),
  );
});

it('agent: a --ca-cert without a certificate', async () => {
  const [proxy, health, admin] = await freePorts(3);
  const r = run(AGENT_BIN, [
    `--ca-cert=${junk}`,
    '--proxy-server-host=127.0.0.1',
    `--proxy-server-port=${proxy}`,
    `--health-server-port=${health}`,
    '--health-server-host=127.0.0.1',
    `--admin-server-port=${admin}`,
    `--data-dir=${path.join(work, 'agent-data')}`,
  ]);
  expect(r.status).toBe(1);
  expect(r.lines).toHaveLength(1);
  expect(r.lines[0]).toMatch(klogError('agent', `--ca-cert=${junk}: no PEM certificate found`));
});
