/**
 * HTTP/2 settings of the transport, one place for both sides. Windows are large because one agent stream
 * carries every connection of the agent: with HTTP/2's 64 KiB default a single stream is pinned far below
 * what the link can carry (each window round trip moves only 64 KiB).
 */
import type * as http2 from 'http2';

/** Per-stream receive window: keeps a 1 ms RTT link near 4 GB/s in theory; costs memory only when a reader lags. */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
/** Per-session receive window: room for several busy streams at once. */
export const SESSION_WINDOW_BYTES = 16 * 1024 * 1024;
/**
 * Largest DATA frame we accept. 16 KiB is HTTP/2's default and minimum. Measured with bench/h2.ts
 * (Unix socket, 64 KiB packets), 16 KiB / 64 KiB / 1 MiB frames cost about the same CPU per MiB (receiver
 * 2.1 / 2.0 / 2.0 ms): node reads the socket 64 KiB at a time whatever the frame size. 64 KiB holds one
 * packet per frame and keeps frames of different streams interleaving finely.
 */
export const MAX_FRAME_BYTES = 64 * 1024;
/**
 * Streams a peer may open at once: a kube-apiserver opens one Proxy stream per proxied connection on a
 * single connection, thousands under load. grpc-go's default is unlimited too.
 */
export const MAX_CONCURRENT_STREAMS = 0x7fffffff;
/**
 * node:http2's cap on buffered session memory, in MiB: it must hold a full session window of received
 * but unread data (16 MiB) plus what is queued to send, or node refuses new streams.
 */
export const MAX_SESSION_MEMORY_MIB = 64;
/**
 * Bytes a PacketStream lets queue in its HTTP/2 stream before `send()` returns false. node's own mark is
 * 16 KiB, less than one 64 KiB packet, which would make every DATA packet wait for a drain; 1 MiB is what
 * grpc-js's object-mode calls hold (16 messages of 64 KiB) and cost less CPU per MiB than 256 KiB in
 * bench/h2.ts (fewer drain cycles).
 */
export const SEND_HIGH_WATER_BYTES = 1024 * 1024;

export const LOCAL_SETTINGS: http2.Settings = {
  initialWindowSize: STREAM_WINDOW_BYTES,
  maxFrameSize: MAX_FRAME_BYTES,
  maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
};

function raise(session: http2.Http2Session): void {
  try {
    session.setLocalWindowSize(SESSION_WINDOW_BYTES);
  } catch {
    // A session torn down before its settings exchange finished keeps the default window.
  }
}

/**
 * Raises the session's connection-level window: at once on a session that has its socket (every server
 * session, whose WINDOW_UPDATE then leaves in the same write as its SETTINGS), else once the peer's
 * settings have arrived. Asking `remoteSettings` instead would read the settings out of nghttp2 into a new
 * object for every session, only to learn what `connecting` says.
 */
export function raiseSessionWindow(session: http2.Http2Session): void {
  if (!session.connecting) raise(session);
  else session.once('remoteSettings', () => raise(session));
}
