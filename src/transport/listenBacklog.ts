/**
 * How many connections the kernel queues for a listener before accept(). Node listens with 511 unless told
 * otherwise; on a Unix socket a full queue refuses connect() at once with EAGAIN, so a burst of a few
 * thousand frontend connections (or agents reconnecting after a restart) loses the excess. We ask for more
 * and report what the kernel will actually give: it silently caps the request at net.core.somaxconn.
 */
import { readFileSync } from 'fs';

/**
 * Requested accept queue. Bursts measured against the reference reach 5,000 connections at once, so ask for
 * a little more than that; the kernel caps it (somaxconn, 4096 by default since Linux 5.4).
 */
export const REQUESTED_BACKLOG = 8192;

/** Where Linux keeps the cap on every listen backlog. */
export const SOMAXCONN_PATH = '/proc/sys/net/core/somaxconn';

export interface Backlog {
  /** What we pass to listen(). */
  readonly requested: number;
  /** What the kernel grants: min(requested, somaxconn), or the request when the cap cannot be read. */
  readonly effective: number;
  /** The kernel's cap, when it could be read. */
  readonly somaxconn: number | null;
}

export function listenBacklog(
  requested: number = REQUESTED_BACKLOG,
  readCap: () => string = () => readFileSync(SOMAXCONN_PATH, 'utf8'),
): Backlog {
  let somaxconn: number | null = null;
  try {
    const value = Number.parseInt(readCap().trim(), 10);
    if (Number.isInteger(value) && value > 0) somaxconn = value;
  } catch {
    // Not Linux, or /proc not mounted: the request stands and the kernel caps it as it will.
  }
  return { requested, effective: somaxconn === null ? requested : Math.min(requested, somaxconn), somaxconn };
}

export function describeBacklog(b: Backlog): string {
  return b.somaxconn === null
    ? `listen backlog ${b.requested} requested (${SOMAXCONN_PATH} unreadable: the kernel may cap it lower)`
    : `listen backlog ${b.effective} (requested ${b.requested}, capped by net.core.somaxconn=${b.somaxconn})`;
}
