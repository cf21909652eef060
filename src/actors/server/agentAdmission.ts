/** Whether an agent's `Connect` stream is admitted, from its metadata alone (before any header is sent). */
import { PEER_TEXT_LIMIT } from '../../protocol/peerText';

/** Validated `Connect` metadata, or the reason to refuse the stream. */
export type AgentAdmission =
  { ok: true; agentId: string; identifiers: string } | { ok: false; reason: string };

export function admitAgent(metadata: Record<string, readonly string[]>): AgentAdmission {
  const ids = metadata['agentid'] ?? [];
  if (ids.length !== 1 || !ids[0]) {
    return { ok: false, reason: `expected exactly one agentid header, got ${ids.length}` };
  }
  // Ids name the agent in logs, events and event subjects, where peer strings are cut to a bounded prefix:
  // a longer id could not be told apart from another with the same prefix. Real ids are host names or UUIDs.
  if (ids[0].length > PEER_TEXT_LIMIT) {
    return { ok: false, reason: `agentid of ${ids[0].length} characters is longer than ${PEER_TEXT_LIMIT}` };
  }
  const identifiers = metadata['agentidentifiers'] ?? [];
  if (identifiers.length > 1) {
    return { ok: false, reason: `expected at most one agentidentifiers header, got ${identifiers.length}` };
  }
  return { ok: true, agentId: ids[0], identifiers: identifiers[0] ?? '' };
}
