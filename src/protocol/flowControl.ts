/**
 * Sizes of the per-connection flow control (docs/flow-control.md says why each value).
 */

/** Metadata both peers present to agree on the credit extension; a reference peer never sends it. */
export const FLOW_CONTROL_HEADER = 'konnectivity-ts-flow-control';
export const FLOW_CONTROL_VERSION = 'v1';

/**
 * Bytes a sender may have outstanding on one connection before the receiver grants more. Large enough
 * that credit round trips do not limit one stream on a LAN (512 KiB / 0.5 ms = 1 GB/s), small enough that
 * a stalled reader pins little memory: the receiver never buffers more than this plus one chunk.
 */
export const INITIAL_WINDOW_BYTES = 512 * 1024;

/**
 * The most a receiver grows one connection's window to, by granting credit beyond what its sink took,
 * while the sink keeps up with a sustained transfer. Under load the credit round trip stretches with the
 * queues in front of it (the shared stream's send buffer, TLS, the four processes of a transfer taking
 * turns on the cores), and a 512 KiB window then held one download to 340-410 MB/s on loopback where 2 MiB
 * moved 410-510 (docs/benchmarks.md "Per-connection windows"). A connection that stalls after it grew
 * holds at most this on the receiving side. The sender needs no say: it sends what it was credited.
 */
export const MAX_WINDOW_BYTES = 2 * 1024 * 1024;

/** The receiver returns credit in batches of at least this many consumed bytes (one CREDIT per 128 KiB). */
export const CREDIT_BATCH_BYTES = 128 * 1024;

/**
 * Bytes a connection may hold for a sink that is not reading before it counts as overflowing. With a
 * peer that grants credits this is never reached (window + one chunk is less; a grown window raises the
 * mark by as much as it grew); with a reference peer it bounds the connection's memory.
 */
export const OVERFLOW_BYTES = 1024 * 1024;

/** An overflowing connection is back to normal once its buffer falls to this. */
export const DRAINED_BYTES = 256 * 1024;

/**
 * How long an overflowing connection may hold up the shared stream of a reference peer before it is
 * closed. A slow reader drains within this and keeps its connection; a stalled one is evicted so that its
 * neighbours move again.
 */
export const OVERFLOW_GRACE_MS = 5_000;
