import type { EventType, LifecycleEvent } from '../events';

export interface EventCriteria {
  readonly agent?: string;
  readonly server?: string;
  readonly dest?: string;
  readonly types?: ReadonlySet<EventType>;
}

/** `--dest 10.0.0.5` matches any port on that host; `--dest 10.0.0.5:22` only that address. */
export function eventMatcher(criteria: EventCriteria): (event: LifecycleEvent) => boolean {
  return (event) => {
    if (criteria.types !== undefined && !criteria.types.has(event.type)) return false;
    const fields = event as unknown as { agentId?: string; serverId?: string; destination?: string };
    if (criteria.agent !== undefined && fields.agentId !== criteria.agent) return false;
    if (criteria.server !== undefined && fields.serverId !== criteria.server) return false;
    if (criteria.dest !== undefined) {
      const d = fields.destination;
      if (d === undefined || (d !== criteria.dest && hostOf(d) !== criteria.dest)) return false;
    }
    return true;
  };
}

/** `h:p` -> `h`, `[::1]:80` -> `::1`, as the destHost strategy strips ports. */
export function hostOf(address: string): string {
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    return end === -1 ? address : address.slice(1, end);
  }
  const colon = address.lastIndexOf(':');
  return colon === -1 || address.indexOf(':') !== colon ? address : address.slice(0, colon);
}
