/**
 * Strings a peer chooses (agent ids and identifiers, dial addresses, error texts) reach log lines, event
 * records and the error texts we pass on. A peer can make them as long as its transport allows (a DIAL_REQ
 * address of 1 MiB was seen copied whole into logs, both event logs and the DIAL_RSP), so wherever they
 * go they are cut to a bounded prefix, with a marker that says so and how much was cut.
 */

/**
 * Longer than any legitimate value, so nothing real is ever cut: a host name (at most 254 bytes) with its
 * port, or a Go dial error that names one together with its resolver, fit well within it.
 */
export const PEER_TEXT_LIMIT = 512;

export function boundPeerText(text: string, limit = PEER_TEXT_LIMIT): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}...[${text.length - limit} more characters cut]`;
}
