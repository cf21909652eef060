import type { AgentIdentifiers } from './common';

/**
 * Parses the `agentidentifiers` metadata value (a URL query string such as
 * `host=node1&ipv4=10.0.0.5&default-route=true`) into the structured form events carry.
 * Unknown keys are ignored, as the reference server does.
 */
export function parseAgentIdentifiers(query: string): AgentIdentifiers {
  const params = new URLSearchParams(query);
  const out: { -readonly [K in keyof AgentIdentifiers]: AgentIdentifiers[K] } = {};
  for (const key of ['host', 'ipv4', 'ipv6', 'cidr'] as const) {
    const values = params.getAll(key).filter((v) => v !== '');
    if (values.length > 0) out[key] = values;
  }
  if (params.get('default-route') === 'true') out.defaultRoute = true;
  return out;
}
