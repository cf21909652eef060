/**
 * How the server chooses an agent for a dial (the reference's `--proxy-strategies`, tried in order). The
 * names are the reference's ProxyStrategy.String(): the flag's values and the `proxy_strategy` metric label.
 */
export const PROXY_STRATEGIES = ['default', 'destHost', 'defaultRoute'] as const;
export type ProxyStrategy = (typeof PROXY_STRATEGIES)[number];

const isProxyStrategy = (s: string): s is ProxyStrategy =>
  (PROXY_STRATEGIES as readonly string[]).includes(s);

/** proxystrategies.ParseProxyStrategies: comma list, empty items skipped, at least one. */
export function parseProxyStrategies(raw: string): ProxyStrategy[] {
  const result: ProxyStrategy[] = [];
  for (const s of raw.split(',')) {
    if (s === '') continue;
    if (!isProxyStrategy(s)) throw new Error(`unknown proxy strategy: ${s}`);
    result.push(s);
  }
  if (result.length === 0) throw new Error('proxy strategies cannot be empty');
  return result;
}
