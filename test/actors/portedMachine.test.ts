import { createActor } from 'xstate';
import * as machines from '../../src/actors/machines';
import { agentTunnelEffects } from '../../src/machines/agentTunnel.machine';
import { connectionEffects } from '../../src/machines/connection.machine';
import { serverLinkEffects } from '../../src/machines/serverLink.machine';
import { syncLoopEffects } from '../../src/machines/syncLoop.machine';
import type { Effects } from '../../src/machines/effects';

describe('ported machines', () => {
  const all: Array<[string, { machine: { implementations: { actions: object } } }, Effects]> = [
    ['connection', machines.connection, connectionEffects],
    ['agentTunnel', machines.agentTunnel, agentTunnelEffects],
    ['serverLink', machines.serverLink, serverLinkEffects],
    ['syncLoop', machines.syncLoop, syncLoopEffects],
  ];

  it.each(all)('%s: every declared effect is replaced by a forwarding action', (_name, ported, effects) => {
    const provided = ported.machine.implementations.actions as Record<string, unknown>;
    for (const name of Object.keys(effects)) {
      expect(provided[name]).toBeDefined();
      expect(provided[name]).not.toBe((effects as Record<string, unknown>)[name]);
    }
  });

  it("runs the bound port's implementation for the actor that performs the action", () => {
    const calls: string[] = [];
    const port = Object.fromEntries(
      Object.keys(connectionEffects).map((name) => [name, () => calls.push(name)]),
    ) as unknown as machines.ConnectionPort;
    const actor = createActor(machines.connection.machine, {
      input: { timeoutMs: 0 },
    });
    machines.connection.bind(actor, port);
    actor.start();
    actor.send({ type: 'TUNNEL_LOST', reason: 'gone' });
    expect(calls).toEqual(['startDial', 'dialSettled', 'abandonDial', 'reportPeerLost']);
  });

  it('does nothing for an actor with no bound port (an unbound actor is inert, not a crash)', () => {
    const actor = createActor(machines.connection.machine, {
      input: { timeoutMs: 0 },
    });
    actor.start();
    actor.send({ type: 'CANCEL' });
    expect(actor.getSnapshot().value).toBe('cancelled');
  });
});
