/**
 * The real binaries give glibc's free heap back when a large transfer ends (src/transferTrim.ts), on both
 * sides, and say at start-up when they cannot (no native helper).
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { stopAllProcesses } from '../helpers/processes';
import { startDownloadServer, verifyPattern, type TargetServer } from '../helpers/targets';
import { download } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startServer } from './cluster';
import { LARGE_TRANSFER_BYTES } from '../../src/transferTrim';

jest.setTimeout(120_000);

const tls = useTlsDir();
let work: string;
let source: TargetServer;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-trim-'));
  source = await startDownloadServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await source.close();
  rmSync(work, { recursive: true, force: true });
});

const GIVEN_BACK = /heap given back after a large transfer/;
const NOT_GIVEN_BACK = /glibc's free heap is not given back after large transfers/;

it('gives the heap back on the server and on the agent once a large download ends', async () => {
  const server = await startServer(tls(), work, { mode: 'http-connect', extraArgs: ['--v=2'] });
  const agent = await startAgent(tls(), work, server, { agentId: 'trim', extraArgs: ['--v=2'] });
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'agent connected',
  });
  // A small one first: it is no reason to trim.
  const small = await download(await server.dial(`127.0.0.1:${source.port}`), 1024 * 1024);
  expect(verifyPattern(small)).toBe(true);

  const tunnel = await server.dial(`127.0.0.1:${source.port}`);
  const bytes = await download(tunnel, 2 * LARGE_TRANSFER_BYTES, 60_000);
  expect(bytes.length).toBe(2 * LARGE_TRANSFER_BYTES);
  expect(verifyPattern(bytes)).toBe(true);
  tunnel.destroy();

  await server.process.waitForOutput(GIVEN_BACK);
  await agent.process.waitForOutput(GIVEN_BACK);
  expect(server.process.output().match(new RegExp(GIVEN_BACK.source, 'g'))).toHaveLength(1);
  expect(server.process.output()).not.toMatch(NOT_GIVEN_BACK);
});

it('says at start-up that it cannot give the heap back without the native helper', async () => {
  const env = { ...process.env, KONNECTIVITY_NATIVE: 'off' };
  const server = await startServer(tls(), work, { mode: 'grpc', env });
  const agent = await startAgent(tls(), work, server, { agentId: 'no-trim', env });
  await server.process.waitForOutput(NOT_GIVEN_BACK);
  await agent.process.waitForOutput(NOT_GIVEN_BACK);
  expect(server.process.output()).toMatch(/reason="KONNECTIVITY_NATIVE=off"/);
});
