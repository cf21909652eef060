/**
 * How runServer and runAgent plug the live inspector in, in two calls: `events()` wraps the event factory
 * the actors use (so the page's feed sees every lifecycle event), `handlers()` gives the admin port its
 * `/inspector/` once the process's ActorHost exists. With `--inspector=false` both give nothing.
 */
import type { ActorHost } from '../actors/actorHost';
import type { PrefixHandler } from '../observability/httpEndpoints';
import { EventFeed, feeding } from './eventFeed';
import { inspectorHandler } from './http/inspectorHandler';
import { LiveInspector, type ProcessIdentity } from './liveInspector';
import { processBackend } from './processBackend';

export class ProcessInspection<F extends object> {
  readonly feed = new EventFeed();
  private inspector: LiveInspector | null = null;

  constructor(readonly enabled: boolean) {}

  /** The factory to hand the actors: `logged` (the event log's) or `raw`, feeding the page. */
  events(logged: F | null, raw: F): F | undefined {
    if (!this.enabled) return logged ?? undefined;
    return feeding(this.feed, () => this.inspector?.wanted ?? false, logged, raw);
  }

  handlers(host: ActorHost, identity: ProcessIdentity): PrefixHandler[] {
    if (!this.enabled) return [];
    this.inspector = new LiveInspector(host, identity, this.feed);
    return [inspectorHandler(processBackend(this.inspector))];
  }
}
