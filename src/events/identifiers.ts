import { parseAgentIdentifiers as parseMetadata } from '../protocol/agentIdentifiers';
import type { AgentIdentifiers } from './common';

/**
 * The `agentidentifiers` metadata value (e.g. `host=node1&ipv4=10.0.0.5&default-route=true`) in the sparse
 * form events carry: absent keys are left out, unknown keys are ignored, as the reference server does.
 */
export function parseAgentIdentifiers(query: string): AgentIdentifiers {
  const parsed = parseMetadata(query);
  const out: { -readonly [K in keyof AgentIdentifiers]: AgentIdentifiers[K] } = {};
  for (const key of ['host', 'ipv4', 'ipv6', 'cidr'] as const) {
    const values = parsed[key].filter((v) => v !== '');
    if (values.length > 0) out[key] = values;
  }
  if (parsed.defaultRoute) out.defaultRoute = true;
  return out;
}
