/**
 * The live stream behind the page: Server-Sent Events, one frame per tick, never one message per
 * inspection event. Every viewer shares one ticker (RxJS `share`: it runs only while a viewer is
 * connected); each frame is built for that viewer when its tick comes. A viewer that has not read what it
 * was sent (its socket buffer is over VIEWER_BACKLOG_BYTES) skips frames instead of queueing them: the
 * next frame it gets says how many it skipped, and the event feed says how many events it missed.
 */
import type * as http from 'node:http';
import type * as Rx from 'rxjs';

/** Two frames a second: the charts update at least once a second, under the 4 updates/s budget. */
export const FRAME_INTERVAL_MS = 500;
/** Unsent bytes at which a viewer counts as behind: a few frames of a busy server. */
export const VIEWER_BACKLOG_BYTES = 256 * 1024;
/** Live viewers per process: each costs a frame per tick; more are refused with 503. */
export const MAX_VIEWERS = 16;

export interface Viewer {
  /** The frame for this tick; `skipped` is how many ticks were skipped since the last frame sent. */
  frame(skipped: number): unknown;
  leave(): void;
}

/**
 * RxJS is loaded with the first viewer, not with the process: it costs about 10 MB of memory that a process
 * nobody watches (nearly every agent) never needs.
 */
let rx: { ticks: Rx.Observable<number>; finalize: typeof Rx.finalize } | undefined;
function loadRx(): NonNullable<typeof rx> {
  if (!rx) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
    const { interval, share, finalize } = require('rxjs') as typeof Rx;
    rx = { ticks: interval(FRAME_INTERVAL_MS).pipe(share()), finalize };
  }
  return rx;
}
let connected = 0;

export function serveViewer(req: http.IncomingMessage, res: http.ServerResponse, viewer: Viewer): void {
  if (connected >= MAX_VIEWERS) {
    viewer.leave();
    res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '5' });
    res.end(`too many inspector viewers (at most ${MAX_VIEWERS})\n`);
    return;
  }
  connected++;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
  });
  let skipped = 0;
  const send = (): void => {
    if (res.writableLength > VIEWER_BACKLOG_BYTES) {
      skipped++;
      return;
    }
    res.write(`data: ${JSON.stringify(viewer.frame(skipped))}\n\n`);
    skipped = 0;
  };
  send();
  const { ticks, finalize } = loadRx();
  const subscription = ticks
    .pipe(
      finalize(() => {
        connected--;
        viewer.leave();
      }),
    )
    .subscribe(send);
  // 'close' comes however the viewer goes: it closed the page, the network dropped, the port shut down.
  res.once('close', () => subscription.unsubscribe());
  req.once('error', () => res.destroy());
}
