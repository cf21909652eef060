/**
 * The process-wide, once-provided machines the actors run (see portedMachine.ts for why). Each port has
 * exactly the effects its machine declares.
 */
import { agentTunnelEffects, agentTunnelMachine } from '../machines/agentTunnel.machine';
import { connectionEffects, connectionMachine } from '../machines/connection.machine';
import { serverLinkEffects, serverLinkMachine } from '../machines/serverLink.machine';
import { syncLoopEffects, syncLoopMachine } from '../machines/syncLoop.machine';
import { ported, type PortOf } from './portedMachine';

export const connection = ported(connectionMachine, connectionEffects);
export type ConnectionPort = PortOf<typeof connection>;
/** What each of the connection machine's effects is given (a dial's and an open connection's alike). */
export type ConnectionArgs = Parameters<ConnectionPort['requestFarClose']>[0];

export const agentTunnel = ported(agentTunnelMachine, agentTunnelEffects);
export type AgentTunnelPort = PortOf<typeof agentTunnel>;

export const serverLink = ported(serverLinkMachine, serverLinkEffects);
export type ServerLinkPort = PortOf<typeof serverLink>;

export const syncLoop = ported(syncLoopMachine, syncLoopEffects);
export type SyncLoopPort = PortOf<typeof syncLoop>;
