/**
 * The one table from what producers say to the reason vocabulary: vocabulary values pass through,
 * version-1 spellings map to their new names, and every free text a producer in src/actors hands over
 * today lands on the reason that means it, keeping the text in `error` when it says more.
 */
import {
  classifyReason,
  eventFactory,
  isReason,
  REASONED_TYPES,
  REASONS,
  type CloseInitiator,
  type ReasonedType,
} from '../../src/events';
import { upcast } from '../../src/persistence/upcast';

describe('classifyReason', () => {
  it('keeps every vocabulary value as it is, without detail', () => {
    for (const type of REASONED_TYPES) {
      for (const reason of Object.keys(REASONS[type])) {
        expect(classifyReason(type, { reason })).toEqual({ reason });
      }
    }
  });

  it.each<[ReasonedType, string, string]>([
    ['dial.failed', 'no_agent', 'no-agent'],
    ['dial.failed', 'error_response', 'agent-error'],
    ['dial.failed', 'backend_close', 'agent-lost'],
    ['server.stopped', 'signal', 'shutdown'],
    ['agent.stopped', 'signal', 'shutdown'],
    ['conn.closed', 'close-rsp', 'agent-closed'],
    ['conn.closed', 'frontend-eof', 'frontend-closed'],
    ['dial.endpoint-failed', 'refused', 'error'],
  ])('maps the version-1 %s reason %s to %s', (type, legacy, reason) => {
    expect(classifyReason(type, { reason: legacy })).toEqual({ reason });
  });

  it.each<[ReasonedType, string, CloseInitiator | undefined, string, string | undefined]>([
    // Server: conn.closed as proxiedConnection records it (machine reason text + who closed).
    ['conn.closed', 'frontend sent CLOSE_REQ', 'frontend', 'close-req', undefined],
    ['conn.closed', 'frontend stream eof', 'frontend', 'frontend-closed', undefined],
    ['conn.closed', 'frontend EOF', 'frontend', 'frontend-closed', undefined],
    ['conn.closed', 'frontend socket closed', 'frontend', 'frontend-closed', undefined],
    [
      'conn.closed',
      'frontend stream error: boom',
      'frontend',
      'frontend-error',
      'frontend stream error: boom',
    ],
    ['conn.closed', 'malformed packet: bad tag', 'frontend', 'frontend-error', 'malformed packet: bad tag'],
    ['conn.closed', 'agent closed', 'agent', 'agent-closed', undefined],
    ['conn.closed', 'read ECONNRESET', 'agent', 'agent-error', 'read ECONNRESET'],
    ['conn.closed', 'stream error: reset', 'server', 'agent-lost', 'stream error: reset'],
    ['conn.closed', 'server is shutting down', 'server', 'server-shutdown', undefined],
    ['conn.closed', 'unknown', 'server', 'agent-lost', undefined],
    // Server: agent.disconnected from the tunnel's stream end.
    ['agent.disconnected', 'stream eof', undefined, 'stream-ended', undefined],
    ['agent.disconnected', 'stream cancelled', undefined, 'stream-ended', undefined],
    [
      'agent.disconnected',
      'stream error: 14 UNAVAILABLE',
      undefined,
      'stream-error',
      'stream error: 14 UNAVAILABLE',
    ],
    [
      'agent.disconnected',
      'malformed packet from agent: x',
      undefined,
      'malformed-packet',
      'malformed packet from agent: x',
    ],
    ['agent.disconnected', 'server is shutting down', undefined, 'server-shutdown', undefined],
    // Server: dial.cancelled as proxiedConnection names it.
    ['dial.cancelled', 'dial-cls', undefined, 'dial-cls', undefined],
    ['dial.cancelled', 'frontend-closed', undefined, 'frontend-closed', undefined],
    // Agent: the server link's end and the endpoint connection's end.
    ['server.disconnected', 'stream-ended', undefined, 'stream-ended', undefined],
    ['server.disconnected', 'stream eof', undefined, 'stream-ended', undefined],
    ['server.disconnected', 'read ECONNRESET', undefined, 'stream-error', 'read ECONNRESET'],
    ['server.disconnected', 'malformed packet: x', undefined, 'malformed-packet', 'malformed packet: x'],
    ['conn.endpoint-closed', 'server sent CLOSE_REQ', 'server', 'close-req', undefined],
    ['conn.endpoint-closed', 'endpoint closed', 'endpoint', 'endpoint-closed', undefined],
    [
      'conn.endpoint-closed',
      'endpoint error: read EPIPE',
      'endpoint',
      'endpoint-error',
      'endpoint error: read EPIPE',
    ],
    ['conn.endpoint-closed', 'buffer-overflow', 'endpoint', 'buffer-overflow', undefined],
    ['conn.endpoint-closed', 'server connection closed', 'server', 'server-lost', 'server connection closed'],
    ['server.stopped', 'whatever the caller said', undefined, 'shutdown', undefined],
  ])('%s: %j (closed by %s) is %s', (type, reason, closedBy, expected, detail) => {
    const result = classifyReason(type, { reason, closedBy });
    expect(result.reason).toBe(expected);
    expect(isReason(type, result.reason)).toBe(true);
    expect(result.detail).toBe(detail);
  });

  it('the factory stores the vocabulary value and keeps the free text in error', () => {
    const f = eventFactory({ serverId: 's' });
    const closed = f.connClosed({
      random: 1n,
      destination: 'd:1',
      agentId: 'a',
      connectID: 1n,
      bytesToAgent: 0,
      bytesFromAgent: 0,
      durationMs: 1,
      closedBy: 'agent',
      reason: 'read ECONNRESET',
    });
    expect(closed).toMatchObject({ reason: 'agent-error', error: 'read ECONNRESET' });
    const failed = f.dialFailed({
      random: 1n,
      destination: 'd:1',
      reason: 'backend_close',
      error: 'gone',
      latencyMs: 1,
    });
    expect(failed).toMatchObject({ reason: 'agent-lost', error: 'gone' });
  });

  it('upcasts a stored version-1 event to version 2 with the same mapping', () => {
    const v1 = {
      v: 1,
      id: '01JN8S7QG02NXQR41Y6QJ3PKX9',
      type: 'dial.failed',
      reason: 'error_response',
      error: 'x',
    };
    expect(upcast(v1)).toEqual({ ...v1, v: 2, reason: 'agent-error' });
    const v2 = { ...v1, v: 2 };
    expect(upcast(v2)).toBe(v2);
  });
});
