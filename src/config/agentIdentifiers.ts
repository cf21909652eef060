// --agent-identifiers: a URL query string (host=, ipv4=, ipv6=, cidr=, default-route=) parsed the
// way Go's url.ParseQuery does, with the reference's check that only known keys appear.

import { IDENTIFIER_KEYS, type AgentIdentifiers, type IdentifierKey } from '../protocol/agentIdentifiers';
import { parseGoBool } from './flagValues';

const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** url.QueryUnescape; throws with Go's EscapeError text. */
function queryUnescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c === '%') {
      if (i + 2 >= s.length || !isHex(s[i + 1]) || !isHex(s[i + 2])) {
        throw new Error(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      }
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === '+') {
      bytes.push(0x20);
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** url.ParseQuery: returns the pairs and Go's first error, if any. */
function parseQuery(query: string): { pairs: [string, string][]; error?: string } {
  const pairs: [string, string][] = [];
  let error: string | undefined;
  for (const part of query.split('&')) {
    if (part === '') continue;
    if (part.includes(';')) {
      error ??= 'invalid semicolon separator in query';
      continue;
    }
    const eq = part.indexOf('=');
    const [rawKey, rawValue] = eq === -1 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    try {
      pairs.push([queryUnescape(rawKey), queryUnescape(rawValue)]);
    } catch (e) {
      error ??= (e as Error).message;
    }
  }
  return error === undefined ? { pairs } : { pairs, error };
}

/** The reference's validateAgentIdentifiers; returns its error text (without the prefix). */
export function checkAgentIdentifiers(raw: string): string | undefined {
  const { pairs, error } = parseQuery(raw);
  if (error !== undefined) return error;
  const unknown = pairs.find(([key]) => !(IDENTIFIER_KEYS as readonly string[]).includes(key));
  return unknown === undefined ? undefined : `unknown address type: ${unknown[0]}`;
}

/** Parses an already validated identifier string. */
export function parseAgentIdentifiersFlag(raw: string): AgentIdentifiers {
  const { pairs } = parseQuery(raw);
  const all = (key: IdentifierKey): string[] => pairs.filter(([k]) => k === key).map(([, v]) => v);
  const defaultRoute = all('default-route').some((v) => {
    try {
      return parseGoBool(v);
    } catch {
      return false;
    }
  });
  return { host: all('host'), ipv4: all('ipv4'), ipv6: all('ipv6'), cidr: all('cidr'), defaultRoute };
}
