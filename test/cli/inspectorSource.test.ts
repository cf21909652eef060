/**
 * The fleet inspector names its event log on the page and in its API: with the URL's password replaced,
 * even while it cannot read the log (before any reader has been opened to redact it); and what no retry
 * could fix (a missing TLS file, a location that is not one) stops its start.
 */
import { startFleetInspector, type RunningInspector } from '../../src/cli/inspector';
import { createLogger } from '../../src/observability/logger';
import { httpGet } from '../helpers/http';
import { freePorts } from '../helpers/ports';
import { waitFor } from '../helpers/waitFor';

const SECRET = 's3cret-pw-77';
let running: RunningInspector | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

it('shows the location of a log it cannot read without the password in it', async () => {
  const [closed] = await freePorts(1); // nothing listens there: NATS is "down"
  const lines: string[] = [];
  running = await startFleetInspector(
    {
      host: '127.0.0.1',
      port: 0,
      eventLog: `nats://konnectivity:${SECRET}@127.0.0.1:${closed}`,
      dataDir: '',
      verbosity: 0,
      natsSecurity: {},
    },
    createLogger({ verbosity: 0, component: 'test', sink: (line) => lines.push(line) }),
  );
  const url = `http://127.0.0.1:${running.port}/inspector/api/info`;
  const info = await waitFor(
    async () => {
      const body = (await httpGet(url)).body;
      const parsed = JSON.parse(body) as { source: { location: string; error: string | null } };
      return parsed.source.error !== null ? { body, source: parsed.source } : false;
    },
    { description: 'the read error shown', timeoutMs: 15_000 },
  );
  expect(info.source.location).toBe(`nats://konnectivity:***@127.0.0.1:${closed}`);
  expect(info.body).not.toContain(SECRET);
  expect(lines.join('\n')).not.toContain(SECRET);
});

it('refuses to start on a TLS file that does not exist or a location that is not one, naming them', async () => {
  const options = {
    host: '127.0.0.1',
    port: 0,
    eventLog: 'tls://127.0.0.1:4222',
    dataDir: '',
    verbosity: 0,
    natsSecurity: { tlsCa: '/nonexistent/ca.crt' },
  };
  const log = createLogger({ verbosity: 0, component: 'test', sink: () => undefined });
  await expect(startFleetInspector(options, log)).rejects.toThrow(
    /cannot read --event-log-tls-ca \/nonexistent\/ca\.crt/,
  );
  await expect(
    startFleetInspector({ ...options, eventLog: 'http://x:1', natsSecurity: {} }, log),
  ).rejects.toThrow('--event-log: "http://x:1" is not file:<dir> or nats://host:port');
});
