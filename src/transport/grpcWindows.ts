/**
 * HTTP/2 flow-control windows of our grpc-js clients (the agent's links, frontend clients), sized for
 * throughput: HTTP/2's 64 KiB default pins a stream at a fraction of what the link can do. Our servers run
 * on node:http2 and set their windows in h2/settings.ts.
 */
import type * as grpc from '@grpc/grpc-js';

/**
 * Per-stream receive window. One agent stream carries every connection of the agent, so it is the shared
 * pipe; 4 MiB keeps a 1 ms RTT link at ~4 GB/s in theory and costs memory only when a reader lags.
 */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;

/** Channel options for clients (the agent's links, frontend clients). */
export const CLIENT_WINDOW_OPTIONS: grpc.ChannelOptions = {
  'grpc-node.flow_control_window': STREAM_WINDOW_BYTES,
};
