import {
  AGENT_DIAL_FAILURES,
  SERVER_DIAL_FAILURES,
  agentDialErrorText,
  agentDialFailure,
  serverDialErrorText,
  type DialFailure,
} from '../../src/actors/dialOutcomes';
import { statusForDialFailure } from '../../src/actors/server/httpStatus';

describe('server: what each failed dial means to the outside', () => {
  // outcome, machine's recorded error, metric label, event (type/reason), frontend kind, HTTP status, text
  const table: Array<[DialFailure, string | null, string, string, string, number, string]> = [
    [
      'refused',
      'dial tcp 127.0.0.1:1: connect: connection refused',
      'error_response',
      'dial.failed/agent-error',
      'agent-error',
      502,
      'dial tcp 127.0.0.1:1: connect: connection refused',
    ],
    [
      'refused',
      'dial tcp 10.0.0.9:10250: i/o timeout',
      'error_response',
      'dial.failed/agent-error',
      'agent-error',
      504,
      'dial tcp 10.0.0.9:10250: i/o timeout',
    ],
    [
      'refused',
      'dial tcp: too many open files',
      'error_response',
      'dial.failed/agent-error',
      'agent-error',
      503,
      'dial tcp: too many open files',
    ],
    ['timedOut', 'dial timeout', 'backend_dial_timeout', 'dial.timed-out', 'timeout', 504, 'dial timeout'],
    [
      'peerLost',
      'agent stream ended: eof',
      'backend_close',
      'dial.failed/agent-lost',
      'agent-lost',
      502,
      'agent stream ended: eof',
    ],
  ];
  it.each(table)('%s (%s)', (outcome, recorded, metric, event, kind, status, text) => {
    const facts = SERVER_DIAL_FAILURES[outcome];
    expect(facts.metric).toBe(metric);
    expect('reason' in facts.event ? `${facts.event.type}/${facts.event.reason}` : facts.event.type).toBe(
      event,
    );
    expect(facts.frontend).toBe(kind);
    expect(serverDialErrorText(outcome, recorded)).toBe(text);
    expect(statusForDialFailure(facts.frontend, serverDialErrorText(outcome, recorded))).toBe(status);
  });

  it('a lost agent is never counted as an agent error', () => {
    expect(SERVER_DIAL_FAILURES.peerLost.metric).not.toBe('error_response');
    expect(SERVER_DIAL_FAILURES.peerLost.frontend).not.toBe('agent-error');
    expect(SERVER_DIAL_FAILURES.peerLost.event).toEqual({ type: 'dial.failed', reason: 'agent-lost' });
  });
});

describe('agent: what each failed endpoint dial means to the outside', () => {
  // outcome, denied by policy, metric label, event reason, answers the server
  const table: Array<[DialFailure, boolean, string | null, string, boolean]> = [
    ['refused', false, 'unknown', 'error', true],
    ['refused', true, 'unknown', 'not-allowed', true],
    ['timedOut', false, 'timeout', 'timeout', true],
    ['peerLost', false, null, 'server-lost', false],
  ];
  it.each(table)('%s (denied: %s)', (outcome, denied, metric, reason, answers) => {
    const facts = agentDialFailure(outcome, denied);
    expect(facts.metric).toBe(metric);
    expect(facts.eventReason).toBe(reason);
    expect(facts.answersServer).toBe(answers);
  });

  it("words a timeout as Go's dialer does, and passes other errors through", () => {
    expect(agentDialErrorText('timedOut', '10.0.0.9:10250', 'dial timeout')).toBe(
      'dial tcp 10.0.0.9:10250: i/o timeout',
    );
    expect(
      agentDialErrorText('refused', '127.0.0.1:1', 'dial tcp 127.0.0.1:1: connect: connection refused'),
    ).toBe('dial tcp 127.0.0.1:1: connect: connection refused');
  });

  it('covers every outcome on both sides', () => {
    expect(Object.keys(AGENT_DIAL_FAILURES).sort()).toEqual(Object.keys(SERVER_DIAL_FAILURES).sort());
  });
});
