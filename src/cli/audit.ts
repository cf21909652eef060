/**
 * The `audit` report: a pure aggregation of events into one row per (agent, destination). The server
 * side counts relayed connections; `--side agent` counts agents' endpoint connections instead (both
 * are in a shared stream, so counting both would count each connection twice).
 */
import type { LifecycleEvent } from '../events';

export interface AuditRow {
  readonly agentId: string;
  readonly destination: string;
  /** Connections seen opening or closing in the window. */
  readonly connections: number;
  /** Of those, opened in the window and not closed (still open, or the log ends early). */
  readonly open: number;
  readonly bytesToEndpoint: number;
  readonly bytesFromEndpoint: number;
  /** Failed and timed-out dials. */
  readonly failures: number;
  readonly longestMs: number;
}

/** Failures with no chosen agent (`no-agent`) are listed under this agent id. */
export const NO_AGENT = '-';

type MutableRow = { -readonly [K in keyof AuditRow]: AuditRow[K] };

export class AuditReport {
  private readonly rows = new Map<string, MutableRow>();
  private readonly openConns = new Map<string, MutableRow>();
  private readonly seen = new Set<string>();

  constructor(private readonly side: 'server' | 'agent') {}

  add(e: LifecycleEvent): void {
    if (this.side === 'server') {
      switch (e.type) {
        // A connection is known by its dial's random, per server (HA servers see different dials).
        case 'conn.opened':
          return this.opened(`${e.serverId}/${e.random}`, e.agentId, e.destination);
        case 'conn.closed': {
          const key = `${e.serverId}/${e.random}`;
          return this.closed(key, e.agentId, e.destination, e.bytesToAgent, e.bytesFromAgent, e.durationMs);
        }
        case 'dial.failed':
        case 'dial.timed-out':
          this.row(e.agentId ?? NO_AGENT, e.destination).failures++;
          return;
        default:
          return;
      }
    }
    switch (e.type) {
      case 'dial.endpoint-connected':
        return this.opened(`${e.agentId}/${e.random}`, e.agentId, e.destination);
      case 'conn.endpoint-closed': {
        const key = `${e.agentId}/${e.random}`;
        return this.closed(
          key,
          e.agentId,
          e.destination,
          e.bytesToEndpoint,
          e.bytesFromEndpoint,
          e.durationMs,
        );
      }
      case 'dial.endpoint-failed':
        this.row(e.agentId, e.destination).failures++;
        return;
      default:
        return;
    }
  }

  /** Rows sorted by agent, then destination. */
  result(): AuditRow[] {
    return [...this.rows.values()].sort(
      (a, b) => a.agentId.localeCompare(b.agentId) || a.destination.localeCompare(b.destination),
    );
  }

  private opened(key: string, agentId: string, destination: string): void {
    const row = this.row(agentId, destination);
    if (!this.seen.has(key)) row.connections++;
    this.seen.add(key);
    this.openConns.set(key, row);
    row.open++;
  }

  private closed(
    key: string,
    agentId: string,
    destination: string,
    to: number,
    from: number,
    durationMs: number,
  ): void {
    const row = this.row(agentId, destination);
    if (!this.seen.has(key)) row.connections++;
    this.seen.add(key);
    if (this.openConns.delete(key)) row.open--;
    row.bytesToEndpoint += to;
    row.bytesFromEndpoint += from;
    row.longestMs = Math.max(row.longestMs, durationMs);
  }

  private row(agentId: string, destination: string): MutableRow {
    const key = `${agentId}\u0000${destination}`;
    let row = this.rows.get(key);
    if (row === undefined) {
      row = {
        agentId,
        destination,
        connections: 0,
        open: 0,
        bytesToEndpoint: 0,
        bytesFromEndpoint: 0,
        failures: 0,
        longestMs: 0,
      };
      this.rows.set(key, row);
    }
    return row;
  }
}
