/**
 * The process-wide, once-provided machines the actors run (see portedMachine.ts for why).
 */
import {
  agentTunnelMachine,
  type AgentTunnelContext,
  type AgentTunnelEvent,
} from '../machines/agentTunnel.machine';
import {
  connectionMachine,
  type ConnectionContext,
  type ConnectionEvent,
} from '../machines/connection.machine';
import { dialMachine, type DialContext, type DialEvent } from '../machines/dial.machine';
import {
  serverLinkMachine,
  type ServerLinkContext,
  type ServerLinkEvent,
} from '../machines/serverLink.machine';
import { ported, type Port } from './portedMachine';

const DIAL_ACTIONS = ['startDial', 'reportEstablished', 'reportFailed', 'abandonDial'] as const;
export type DialPort = Port<(typeof DIAL_ACTIONS)[number], DialContext, DialEvent>;
export const dial = ported<typeof dialMachine, (typeof DIAL_ACTIONS)[number], DialContext, DialEvent>(
  dialMachine,
  DIAL_ACTIONS,
);

const CONNECTION_ACTIONS = [
  'requestFarClose',
  'notifyNearClosed',
  'abortBoth',
  'holdTunnel',
  'releaseTunnel',
  'evict',
] as const;
export type ConnectionPort = Port<(typeof CONNECTION_ACTIONS)[number], ConnectionContext, ConnectionEvent>;
export const connection = ported<
  typeof connectionMachine,
  (typeof CONNECTION_ACTIONS)[number],
  ConnectionContext,
  ConnectionEvent
>(connectionMachine, CONNECTION_ACTIONS);

const TUNNEL_ACTIONS = ['markDraining', 'releaseAll'] as const;
export type AgentTunnelPort = Port<(typeof TUNNEL_ACTIONS)[number], AgentTunnelContext, AgentTunnelEvent>;
export const agentTunnel = ported<
  typeof agentTunnelMachine,
  (typeof TUNNEL_ACTIONS)[number],
  AgentTunnelContext,
  AgentTunnelEvent
>(agentTunnelMachine, TUNNEL_ACTIONS);

const LINK_ACTIONS = ['openLink', 'linkReady', 'sendDrain', 'releaseAll', 'closeLink'] as const;
export type ServerLinkPort = Port<(typeof LINK_ACTIONS)[number], ServerLinkContext, ServerLinkEvent>;
export const serverLink = ported<
  typeof serverLinkMachine,
  (typeof LINK_ACTIONS)[number],
  ServerLinkContext,
  ServerLinkEvent
>(serverLinkMachine, LINK_ACTIONS);
