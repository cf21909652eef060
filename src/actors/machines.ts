/**
 * The process-wide, once-provided machines the actors run (see portedMachine.ts for why).
 */
import { agentTunnelMachine } from '../machines/agentTunnel.machine';
import { connectionMachine } from '../machines/connection.machine';
import { dialMachine } from '../machines/dial.machine';
import { serverLinkMachine } from '../machines/serverLink.machine';
import { ported, type PortOf } from './portedMachine';

export const dial = ported(dialMachine, [
  'startDial',
  'reportEstablished',
  'reportRefused',
  'reportTimedOut',
  'reportPeerLost',
  'reportCancelled',
  'abandonDial',
]);
export type DialPort = PortOf<typeof dial>;

export const connection = ported(connectionMachine, [
  'requestFarClose',
  'notifyNearClosed',
  'abortBoth',
  'holdTunnel',
  'releaseTunnel',
  'evict',
]);
export type ConnectionPort = PortOf<typeof connection>;

export const agentTunnel = ported(agentTunnelMachine, ['markDraining', 'releaseAll']);
export type AgentTunnelPort = PortOf<typeof agentTunnel>;

export const serverLink = ported(serverLinkMachine, [
  'openLink',
  'linkReady',
  'sendDrain',
  'releaseAll',
  'closeLink',
]);
export type ServerLinkPort = PortOf<typeof serverLink>;
