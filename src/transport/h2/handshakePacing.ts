/**
 * TLS handshakes a secure listener runs at once. A handshake costs a few milliseconds of CPU on the one
 * thread; 500 agents reconnecting together after a restart would otherwise take the event loop for seconds
 * (the health port stopped answering for over 10 s in a test), long enough for a liveness probe to kill
 * the server. Node has no option for this, so the listener that starts TLS on an accepted socket is taken
 * by its name and called at our pace; when it is not found the server runs unpaced and the caller is told.
 */
import type * as net from 'net';

/** With 16 in flight the loop gets back between batches, and a burst still completes at the CPU's pace. */
export const HANDSHAKES_IN_FLIGHT = 16;

/**
 * Accepted connections that may wait for a handshake slot; beyond this they are closed at once (the client
 * retries, as agents and kube-apiserver do) rather than holding sockets without bound.
 */
export const HANDSHAKES_WAITING = 16_384;

/**
 * A handshake gives its slot up after this long even if it has not finished (it goes on), so that peers
 * that connect and never send a ClientHello cannot hold every slot until Node's 120 s handshake timeout.
 * A real handshake needs a few milliseconds of CPU; a second covers it on a loaded machine.
 */
export const HANDSHAKE_SLOT_MS = 1_000;

/** Name of Node's listener that starts TLS on an accepted socket (lib/_tls_wrap). */
const TLS_LISTENER = 'tlsConnectionListener';

type Listener = (socket: net.Socket) => void;

/** Starts at most HANDSHAKES_IN_FLIGHT TLS handshakes at once on a TLS server; false if not possible. */
export function paceHandshakes(tlsServer: net.Server): boolean {
  const startTls = (tlsServer.listeners('connection') as Listener[]).find((l) => l.name === TLS_LISTENER);
  if (!startTls) return false;
  tlsServer.removeListener('connection', startTls);
  // A socket holds its slot's timer only while it handshakes; no closure per socket: with thousands of
  // agents connected, a timer and a 'close' listener kept for each connection's lifetime add up.
  const inFlight = new Map<net.Socket, NodeJS.Timeout>();
  const waiting: net.Socket[] = [];
  const finished = (raw: net.Socket): void => {
    const slot = inFlight.get(raw);
    if (slot === undefined) return;
    inFlight.delete(raw);
    clearTimeout(slot);
    raw.off('close', onRawClose);
    while (inFlight.size < HANDSHAKES_IN_FLIGHT && waiting.length > 0) {
      const next = waiting.shift()!;
      if (!next.destroyed) begin(next);
    }
  };
  function onRawClose(this: net.Socket): void {
    finished(this);
  }
  const begin = (raw: net.Socket): void => {
    const slot = setTimeout(finished, HANDSHAKE_SLOT_MS, raw);
    slot.unref();
    inFlight.set(raw, slot);
    raw.on('close', onRawClose);
    startTls.call(tlsServer, raw);
  };
  const done = (tlsSocket: { _parent?: net.Socket }): void => {
    if (tlsSocket._parent) finished(tlsSocket._parent);
  };
  tlsServer.on('secureConnection', done);
  tlsServer.on('tlsClientError', (_err: Error, tlsSocket: { _parent?: net.Socket }) => done(tlsSocket));
  tlsServer.on('connection', (raw: net.Socket) => {
    if (raw.destroyed) return;
    if (inFlight.size < HANDSHAKES_IN_FLIGHT) begin(raw);
    else if (waiting.length < HANDSHAKES_WAITING) waiting.push(raw);
    else raw.destroy();
  });
  return true;
}
