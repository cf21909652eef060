/**
 * How runServer and runAgent plug the live inspector in, in two calls: `events()` wraps the event factory
 * the actors use (so the page's feed sees every lifecycle event), `handlers()` gives the admin port its
 * `/inspector/` once the process's ActorHost exists. With `--inspector=false` both give nothing.
 *
 * The inspector itself (actor table, machine graphs, the JSON API) is loaded with the first request under
 * `/inspector/`, not with the process: until someone looks it does nothing, and nearly every agent is never
 * looked at, so its modules would only cost memory. The page's files are still read at start-up, so a
 * package that lacks them fails to start instead of failing the first viewer.
 */
import type { ActorHost } from '../actors/actorHost';
import type { PrefixHandler } from '../observability/httpEndpoints';
import { EventFeed, feeding } from './eventFeed';
import type * as HandlerModule from './http/inspectorHandler';
import { INSPECTOR_PREFIX } from './http/prefix';
import { loadAssets } from './http/staticAssets';
import type * as LiveModule from './liveInspector';
import type * as BackendModule from './processBackend';

export class ProcessInspection<F extends object> {
  readonly feed = new EventFeed();
  private inspector: LiveModule.LiveInspector | null = null;

  constructor(readonly enabled: boolean) {}

  /** The factory to hand the actors: `logged` (the event log's) or `raw`, feeding the page. */
  events(logged: F | null, raw: F): F | undefined {
    if (!this.enabled) return logged ?? undefined;
    return feeding(this.feed, () => this.inspector?.wanted ?? false, logged, raw);
  }

  handlers(host: ActorHost, identity: LiveModule.ProcessIdentity): PrefixHandler[] {
    if (!this.enabled) return [];
    const assets = loadAssets();
    let loaded: PrefixHandler | null = null;
    const load = (): PrefixHandler => {
      /* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see above */
      const { LiveInspector } = require('./liveInspector') as typeof LiveModule;
      const { processBackend } = require('./processBackend') as typeof BackendModule;
      const { inspectorHandler } = require('./http/inspectorHandler') as typeof HandlerModule;
      /* eslint-enable @typescript-eslint/no-require-imports */
      this.inspector = new LiveInspector(host, identity, this.feed);
      return inspectorHandler(processBackend(this.inspector), assets);
    };
    return [
      { prefix: INSPECTOR_PREFIX, handle: (req, res, url) => (loaded ??= load()).handle(req, res, url) },
    ];
  }
}
