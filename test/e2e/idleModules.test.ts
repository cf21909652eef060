/**
 * What a running server and agent have loaded when nobody uses the optional parts: packages that cost
 * megabytes (RxJS for inspector viewers, grpc-js for the agent's `--link-transport=grpc-js`, the YAML parser
 * for kubeconfigs) must wait until they are used. An agent runs on every node, so each megabyte is paid
 * thousands of times over. A tunnel carries a real dial first, so the data path is loaded too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { startAgent, startServer, type RunningTestServer } from './cluster';

jest.setTimeout(90_000);

/**
 * Packages that only optional features use: RxJS (inspector viewers), grpc-js (`--link-transport=grpc-js`),
 * the YAML parser (kubeconfigs), and OpenTelemetry, which prom-client's index and its CPU metric load for
 * exemplars we never enable.
 */
const LAZY_PACKAGES = ['rxjs', '@grpc/grpc-js', 'yaml', '@opentelemetry/api'];

const tls = useTlsDir();
let work: string;
let echo: TargetServer;
beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-idle-modules-'));
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

/**
 * Files of ours that only the live inspector uses: loaded with the first request under /inspector/, since
 * until someone looks the inspector does nothing.
 */
const LAZY_FILES = ['inspector/liveInspector.js', 'inspector/machineGraph.js', 'tools/diagrams.js'];

/** Agent token authentication: loaded only by a server started with it (--agent-namespace ...). */
const TOKEN_AUTH_FILE = 'auth/agentTokenAuthenticator.js';

interface Loaded {
  /** Packages under node_modules. */
  readonly packages: string[];
  /** Our compiled files, relative to dist/. */
  readonly files: string[];
}

/**
 * A preload that writes what the process has loaded to `<dir>/<pid>.json` on SIGUSR1 (the binaries leave
 * SIGUSR1 alone; Node's default would start the inspector).
 */
function writePreload(dir: string): string {
  const file = path.join(dir, 'loaded-modules.js');
  writeFileSync(
    file,
    `process.on('SIGUSR1', () => {
  const packages = new Set();
  const files = [];
  for (const f of Object.keys(require.cache)) {
    const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(f);
    if (m) packages.add(m[1]);
    else if (f.includes('/dist/')) files.push(f.slice(f.lastIndexOf('/dist/') + 6));
  }
  require('fs').writeFileSync(${JSON.stringify(dir)} + '/' + process.pid + '.json', JSON.stringify({ packages: [...packages], files }));
});
`,
  );
  return file;
}

async function loadedModules(pid: number, dir: string): Promise<Loaded> {
  const out = path.join(dir, `${pid}.json`);
  rmSync(out, { force: true });
  process.kill(pid, 'SIGUSR1');
  return waitFor(
    () => {
      try {
        return JSON.parse(readFileSync(out, 'utf8')) as Loaded;
      } catch {
        return undefined;
      }
    },
    { timeoutMs: 10_000, description: `process ${pid} to list its modules` },
  );
}

describe.each(['grpc', 'http-connect'] as const)('%s mode', (mode) => {
  let server: RunningTestServer;
  let serverPid: number;
  let agentPid: number;
  beforeAll(async () => {
    const env = { NODE_OPTIONS: `--require ${writePreload(work)}` };
    server = await startServer(tls(), work, { mode, env });
    const agent = await startAgent(tls(), work, server, { agentId: `idle-${mode}`, env });
    serverPid = server.process.pid!;
    agentPid = agent.process.pid!;
    const conn = await waitFor(() => server.dial(`127.0.0.1:${echo.port}`).catch(() => undefined), {
      timeoutMs: 20_000,
      description: 'a tunnel through the agent',
    });
    expect((await sendAndReceive(conn, Buffer.from('ping'))).toString()).toBe('ping');
    conn.destroy();
  });
  afterAll(() => stopAllProcesses());

  it('the server has not loaded packages of features it does not use', async () => {
    const { packages, files } = await loadedModules(serverPid, work);
    expect(packages).toContain('xstate');
    expect(packages.filter((p) => LAZY_PACKAGES.includes(p))).toEqual([]);
    expect(files).toContain('server/runServer.js');
    expect(files).not.toContain(TOKEN_AUTH_FILE);
  });

  it('the agent has not loaded packages of features it does not use', async () => {
    const { packages } = await loadedModules(agentPid, work);
    expect(packages).toContain('xstate');
    expect(packages.filter((p) => LAZY_PACKAGES.includes(p))).toEqual([]);
  });

  it('neither has loaded the live inspector until someone looks, and both load it when asked', async () => {
    for (const pid of [serverPid, agentPid]) {
      const { files } = await loadedModules(pid, work);
      expect(files).toContain('inspector/processInspection.js');
      expect(files.filter((f) => LAZY_FILES.includes(f))).toEqual([]);
    }
    const res = await fetch(`http://127.0.0.1:${server.ports.admin}/inspector/api/machines`);
    expect(res.status).toBe(200);
    expect(Object.keys((await res.json()) as object).length).toBeGreaterThan(0);
    expect((await loadedModules(serverPid, work)).files).toEqual(expect.arrayContaining(LAZY_FILES));
  });
});
