import { MIN_PING_INTERVAL_MS } from '../../src/transport/h2/keepalive';
import {
  agentLivenessTiming,
  MIN_KEEPALIVE_MS,
  serverLivenessTiming,
  worstCaseDetectionMs,
} from '../../src/transport/livenessTiming';

/** The reference's --keepalive-time default, which both binaries keep. */
const ONE_HOUR = 3_600_000;

describe('server liveness timing (--keepalive-time of the server)', () => {
  it('by default notices a silent agent within 30 s', () => {
    const t = serverLivenessTiming(ONE_HOUR);
    expect(worstCaseDetectionMs(t)).toBeLessThanOrEqual(30_000);
    expect(serverLivenessTiming(0)).toEqual(t);
  });

  it('never takes a healthy agent for silent: it is pinged well before the silence threshold', () => {
    for (const knob of [ONE_HOUR, 30_000, 5_000, 1_000]) {
      const t = serverLivenessTiming(knob);
      expect(t.silentAfterMs).toBeGreaterThanOrEqual(2 * t.idleMs);
      expect(t.silentAfterMs).toBeLessThanOrEqual(t.timeoutMs);
    }
  });

  it('takes a shorter --keepalive-time as the interval, never a longer one, never below 1 s', () => {
    expect(serverLivenessTiming(3_000)).toMatchObject({ idleMs: 3_000, timeoutMs: 6_000 });
    expect(worstCaseDetectionMs(serverLivenessTiming(5_000))).toBe(15_000);
    expect(serverLivenessTiming(120_000)).toEqual(serverLivenessTiming(ONE_HOUR));
    expect(serverLivenessTiming(10).idleMs).toBe(MIN_KEEPALIVE_MS);
  });
});

describe('agent liveness timing (--keepalive-time of the agent)', () => {
  it('by default notices a silent server within 60 s', () => {
    const t = agentLivenessTiming(ONE_HOUR);
    expect(worstCaseDetectionMs(t)).toBeLessThanOrEqual(60_000);
    expect(agentLivenessTiming(0)).toEqual(t);
  });

  it('never pings a server sooner than 30 s after its previous ping, whatever the knob', () => {
    for (const knob of [ONE_HOUR, 30_000, 5_000, 1_000, 0]) {
      expect(agentLivenessTiming(knob).minSpacingMs).toBeGreaterThanOrEqual(MIN_PING_INTERVAL_MS);
    }
    expect(MIN_PING_INTERVAL_MS).toBe(30_000);
  });

  it('takes a shorter --keepalive-time as the silence before a ping and as the ping timeout', () => {
    expect(agentLivenessTiming(5_000)).toMatchObject({ idleMs: 5_000, timeoutMs: 5_000 });
    expect(agentLivenessTiming(120_000)).toEqual(agentLivenessTiming(ONE_HOUR));
  });
});
