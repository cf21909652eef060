/**
 * The `agentidentifiers` metadata value: a URL query string such as
 * `host=node1&ipv4=10.0.0.5&ipv6=fd00::5&cidr=10.0.0.0/24&default-route=true`. Keys may repeat. The one
 * home of these words: the agent's flag (src/config), the server's routing (src/actors) and the events
 * (src/events) all take the keys and the shape from here.
 */
export const IDENTIFIER_KEYS = ['host', 'ipv4', 'ipv6', 'cidr', 'default-route'] as const;
export type IdentifierKey = (typeof IDENTIFIER_KEYS)[number];

export interface AgentIdentifiers {
  readonly host: readonly string[];
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
  readonly cidr: readonly string[];
  readonly defaultRoute: boolean;
}

/** What the server read from an agent's metadata: the identifiers, and the keys it did not recognise (for logs). */
export interface AnnouncedIdentifiers extends AgentIdentifiers {
  readonly unknown: readonly string[];
}

export const NO_IDENTIFIERS: AnnouncedIdentifiers = {
  host: [],
  ipv4: [],
  ipv6: [],
  cidr: [],
  defaultRoute: false,
  unknown: [],
};

export function parseAgentIdentifiers(raw: string): AnnouncedIdentifiers {
  const params = new URLSearchParams(raw);
  const host: string[] = [];
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  const cidr: string[] = [];
  const unknown: string[] = [];
  let defaultRoute = false;
  for (const [key, value] of params) {
    switch (key) {
      case 'host':
        host.push(value);
        break;
      case 'ipv4':
        ipv4.push(value);
        break;
      case 'ipv6':
        ipv6.push(normalizeIPv6(value));
        break;
      case 'cidr':
        cidr.push(value);
        break;
      case 'default-route':
        defaultRoute = value === 'true';
        break;
      default:
        unknown.push(key);
    }
  }
  return { host, ipv4, ipv6, cidr, defaultRoute, unknown };
}

/** `[::1]` and `::1` name the same agent address. */
function normalizeIPv6(value: string): string {
  return value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
}
