import { admitAgent } from '../../../src/actors/server/proxyServer';
import { PEER_TEXT_LIMIT } from '../../../src/protocol/peerText';

describe('admitAgent', () => {
  it('admits one agentid and at most one agentidentifiers', () => {
    expect(admitAgent({ agentid: ['node-1'], agentidentifiers: ['host=node-1'] })).toEqual({
      ok: true,
      agentId: 'node-1',
      identifiers: 'host=node-1',
    });
  });

  it('admits an id of the longest length logs and events keep whole', () => {
    expect(admitAgent({ agentid: ['a'.repeat(PEER_TEXT_LIMIT)] })).toMatchObject({ ok: true });
  });

  it('refuses a longer id, which logs and events would cut to a prefix another agent could share', () => {
    expect(admitAgent({ agentid: ['a'.repeat(PEER_TEXT_LIMIT + 1)] })).toEqual({
      ok: false,
      reason: `agentid of ${PEER_TEXT_LIMIT + 1} characters is longer than ${PEER_TEXT_LIMIT}`,
    });
  });

  it('refuses no id or several', () => {
    expect(admitAgent({})).toMatchObject({ ok: false });
    expect(admitAgent({ agentid: ['a', 'b'] })).toMatchObject({ ok: false });
  });
});
