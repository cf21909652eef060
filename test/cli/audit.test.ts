import { AuditReport, NO_AGENT } from '../../src/cli/audit';
import { auditTable } from '../../src/cli/format';
import { eventFactory } from '../../src/events';
import { connectionLifecycle, serverFactory } from '../persistence/fixtures';

describe('audit report', () => {
  it('aggregates connections, bytes, failures and the longest connection per agent and destination', () => {
    const f = serverFactory('s');
    const report = new AuditReport('server');
    const events = [
      ...connectionLifecycle(f, 1n, 'a'),
      ...connectionLifecycle(f, 2n, 'a'),
      ...connectionLifecycle(f, 3n, 'b').slice(0, 3), // still open
      f.dialFailed({
        random: 4n,
        destination: '10.0.0.5:10250',
        reason: 'no-agent',
        error: 'No agent available',
        latencyMs: 0,
      }),
      f.dialTimedOut({ random: 5n, destination: '10.0.0.5:10250', agentId: 'a', timeoutMs: 5000 }),
    ];
    events.forEach((e) => report.add(e));
    expect(report.result()).toEqual([
      {
        agentId: NO_AGENT,
        destination: '10.0.0.5:10250',
        connections: 0,
        open: 0,
        bytesToEndpoint: 0,
        bytesFromEndpoint: 0,
        failures: 1,
        longestMs: 0,
      },
      {
        agentId: 'a',
        destination: '10.0.0.5:10250',
        connections: 2,
        open: 0,
        bytesToEndpoint: 200,
        bytesFromEndpoint: 4000,
        failures: 1,
        longestMs: 15,
      },
      {
        agentId: 'b',
        destination: '10.0.0.5:10250',
        connections: 1,
        open: 1,
        bytesToEndpoint: 0,
        bytesFromEndpoint: 0,
        failures: 0,
        longestMs: 0,
      },
    ]);
    expect(auditTable(report.result())).toBe(
      [
        'AGENT  DESTINATION     CONNS  OPEN  TO ENDPOINT  FROM ENDPOINT  FAILURES  LONGEST',
        '-      10.0.0.5:10250      0     0          0 B            0 B         1        -',
        'a      10.0.0.5:10250      2     0        200 B        3.9 KiB         1     15ms',
        'b      10.0.0.5:10250      1     1          0 B            0 B         0      0ms',
        'TOTAL                      3     1        200 B        3.9 KiB         2     15ms',
        '',
      ].join('\n'),
    );
  });

  it('counts the agent side from endpoint events when asked', () => {
    const a = eventFactory({ agentId: 'node-1' });
    const dial = { random: 1n, destination: '127.0.0.1:80', serverId: 's' };
    const report = new AuditReport('agent');
    [
      a.endpointDialConnected({ ...dial, connectID: 1n, latencyMs: 1 }),
      a.endpointConnClosed({
        ...dial,
        connectID: 1n,
        bytesToEndpoint: 5,
        bytesFromEndpoint: 6,
        durationMs: 7,
        closedBy: 'endpoint',
        reason: 'eof',
      }),
      a.endpointDialFailed({ ...dial, random: 2n, reason: 'error', error: 'x', latencyMs: 1 }),
    ].forEach((e) => report.add(e));
    expect(report.result()).toEqual([
      {
        agentId: 'node-1',
        destination: '127.0.0.1:80',
        connections: 1,
        open: 0,
        bytesToEndpoint: 5,
        bytesFromEndpoint: 6,
        failures: 1,
        longestMs: 7,
      },
    ]);
  });
});
