import { freePort } from '../../helpers/ports';
import {
  assertNoUncaughtExceptions,
  ProcessError,
  runningProcesses,
  startProcess,
  stopAllProcesses,
} from '../../helpers/processes';

/** A stand-in for a server binary: logs, serves /healthz, and shuts down on SIGTERM unless told not to. */
const FAKE_SERVER = `
const http = require('http');
const port = Number(process.env.PORT);
console.log('starting on ' + port);
console.error('a warning on stderr');
const server = http.createServer((req, res) => { res.statusCode = req.url === '/healthz' ? 200 : 404; res.end('ok'); });
server.listen(port, '127.0.0.1', () => console.log('listening'));
if (process.env.IGNORE_TERM) process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
else process.on('SIGTERM', () => { console.log('draining'); server.close(); process.exit(0); });
`;

function startFake(env: NodeJS.ProcessEnv) {
  return startProcess(process.execPath, ['-e', FAKE_SERVER], { env, name: 'fake-server' });
}

describe('processes', () => {
  afterEach(async () => {
    await stopAllProcesses('SIGKILL');
    expect(runningProcesses()).toHaveLength(0);
  });

  it('fails the test when a spawned binary reports an uncaught exception through its last-resort guard', async () => {
    // The real guard and logger, in a child that throws from a timer and keeps running.
    const guard = require.resolve('../../../dist/observability/lastResort.js');
    const logger = require.resolve('../../../dist/observability/logger.js');
    const script = `
      const log = require(${JSON.stringify(logger)}).createLogger({ verbosity: 0, component: 'probe' });
      require(${JSON.stringify(guard)}).installLastResort(log);
      setTimeout(() => { throw new TypeError('boom'); }, 0);
      setTimeout(() => console.log('still alive'), 50);
      setInterval(() => {}, 1000);
    `;
    const p = startProcess(process.execPath, ['-e', script], { name: 'guarded' });
    await p.waitForOutput(/still alive/);
    expect(p.output()).toMatch(/BUG: uncaught exception; still serving.*boom.*at="at Timeout/);
    expect(() => assertNoUncaughtExceptions()).toThrow(/guarded: .*uncaught exception/);
    expect(() => assertNoUncaughtExceptions()).not.toThrow(); // reported once
  });

  it('starts a process, waits for its HTTP endpoint, keeps its output and stops it with SIGTERM', async () => {
    const port = await freePort();
    const p = startFake({ PORT: String(port) });
    await expect(p.waitForHttp(`http://127.0.0.1:${port}/healthz`)).resolves.toBe('ok');
    await p.waitForOutput(/^listening$/);
    expect(p.output()).toContain(`starting on ${port}`);
    expect(p.output()).toContain('[stderr] a warning on stderr');
    expect(await p.stop()).toEqual({ code: 0, signal: null });
    expect(p.output()).toContain('draining');
    expect(p.isRunning).toBe(false);
  });

  it('takes commands on stdin and hands every stdout line, uncut, to a listener (the benchmark helpers)', async () => {
    const echo = `
      process.stdin.setEncoding('utf8');
      let buf = '';
      process.stdin.on('data', (d) => {
        buf += d;
        for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
          console.log(JSON.stringify({ got: buf.slice(0, i), pad: 'x'.repeat(5000) }));
          buf = buf.slice(i + 1);
        }
      });
      process.stdin.on('end', () => process.exit(0));
    `;
    const p = startProcess(process.execPath, ['-e', echo], { name: 'echo', stdin: 'pipe' });
    const lines: string[] = [];
    const unsubscribe = p.onStdoutLine((line) => lines.push(line));
    expect(p.send('one\ntwo\n')).toBe(true);
    await p.waitForOutput(/"got":"two"/);
    unsubscribe();
    expect(p.send('three\n')).toBe(true);
    await p.waitForOutput(/"got":"three"/);
    // Whole lines, in order, past the ring's cut; nothing after unsubscribing.
    expect(lines.map((l) => (JSON.parse(l) as { got: string; pad: string }).got)).toEqual(['one', 'two']);
    expect((JSON.parse(lines[0]!) as { pad: string }).pad).toHaveLength(5000);
    p.endInput();
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(p.send('late\n')).toBe(false);
  });

  it('has no stdin unless asked for one', async () => {
    const p = startProcess(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { name: 'no-stdin' });
    expect(p.send('ignored\n')).toBe(false);
    await p.stop();
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const port = await freePort();
    const p = startFake({ PORT: String(port), IGNORE_TERM: '1' });
    await p.waitForOutput(/^listening$/);
    const exit = await p.stop('SIGTERM', 200);
    expect(exit.signal).toBe('SIGKILL');
    expect(p.output()).toContain('ignoring SIGTERM');
  });

  it('fails fast, with the last output, when the process exits while being waited for', async () => {
    const p = startProcess(process.execPath, ['-e', 'console.log("bad flag --nope"); process.exit(3)'], {
      name: 'crasher',
    });
    const err = await p
      .waitForHttp('http://127.0.0.1:1/healthz', { timeoutMs: 10_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessError);
    expect((err as Error).message).not.toMatch(/timed out/i); // it did not wait out the 10 s
    expect((err as Error).message).toContain('exit code 3');
    expect((err as Error).message).toContain('bad flag --nope');
    expect(await p.exited).toEqual({ code: 3, signal: null });
  });

  it('reports an executable that cannot start', async () => {
    const p = startProcess('/nonexistent/konnectivity-server', []);
    const exit = await p.exited;
    expect(exit.error?.message).toMatch(/ENOENT/);
    expect(() => p.assertRunning()).toThrow(/failed to start/);
  });

  it('stopAllProcesses ends everything still running', async () => {
    const [a, b] = [await freePort(), await freePort()];
    startFake({ PORT: String(a), IGNORE_TERM: '1' });
    startFake({ PORT: String(b) });
    expect(runningProcesses()).toHaveLength(2);
    await stopAllProcesses('SIGTERM', 300);
    expect(runningProcesses()).toHaveLength(0);
  });
});
