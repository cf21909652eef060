/**
 * The JSON API of a process's live inspector (documented in docs/inspector.md):
 * `machines`, `summary`, `actors?...`, `actors/<id>`, `events?...`, and the live `stream`.
 */
import type { InspectorBackend } from './http/inspectorHandler';
import { FRAME_INTERVAL_MS, type Viewer } from './http/viewerStream';
import { parseActorQuery } from './actorQuery';
import type { FeedFilter } from './eventFeed';
import type { LiveInspector, Summary } from './liveInspector';

/** Events one frame carries to a viewer; more in one frame are summarised as `dropped`. */
export const EVENTS_PER_FRAME = 200;
/** Events `GET api/events` returns at most (the newest). */
export const MAX_EVENTS_PER_REQUEST = 1000;

export function feedFilter(params: URLSearchParams): FeedFilter {
  const text = (name: string): Record<string, string> => {
    const v = params.get(name);
    return v === null || v === '' ? {} : { [name]: v };
  };
  return { ...text('type'), ...text('agent'), ...text('destination') };
}

export function processBackend(inspector: LiveInspector): InspectorBackend {
  // Viewers on the same tick share one summary: counting 10,000 actors once per tick, not once per viewer.
  let cached: Summary | null = null;
  const summary = (): Summary => {
    const now = Date.now();
    if (cached === null || now - cached.time >= FRAME_INTERVAL_MS / 2) cached = inspector.summary();
    return cached;
  };
  return {
    info: () => ({ mode: 'process', process: inspector.identity, frameIntervalMs: FRAME_INTERVAL_MS }),
    get: (route, params) => {
      inspector.touch();
      const [first, second, ...more] = route;
      if (more.length > 0) return undefined;
      if (first === 'machines' && second === undefined) return inspector.graphs();
      if (first === 'summary' && second === undefined) return summary();
      if (first === 'actors' && second === undefined) return inspector.actors(parseActorQuery(params));
      if (first === 'actors' && second !== undefined) return inspector.actor(second);
      if (first === 'events' && second === undefined) {
        const limit = Math.min(Number.parseInt(params.get('limit') ?? '', 10) || 100, MAX_EVENTS_PER_REQUEST);
        const slice = inspector.feed.since(0, feedFilter(params), limit);
        return { lastSeq: slice.lastSeq, events: slice.events };
      }
      return undefined;
    },
    viewer: (params): Viewer => {
      const leave = inspector.addViewer();
      const filter = feedFilter(params);
      // A new viewer starts with the recent past, not with nothing.
      let lastSeq = Math.max(0, inspector.feed.lastSeq - EVENTS_PER_FRAME);
      return {
        frame: (skipped) => {
          const slice = inspector.feed.since(lastSeq, filter, EVENTS_PER_FRAME);
          lastSeq = slice.lastSeq;
          return { summary: summary(), events: slice.events, dropped: slice.dropped, skipped };
        },
        leave,
      };
    },
  };
}
