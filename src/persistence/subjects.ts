/**
 * The NATS subject layout:
 *   konnectivity.events.<process>.<entity>.<entityId>.<type>
 * `<process>` is the server id, or `agent-<agentId>` for an agent process; `<entity>` is one of
 * server|agent|dial|conn; `<type>` is the past-tense part of the event type (`dial.timed-out` ->
 * `timed-out`), last so that wildcards select by entity or by type.
 *
 * Ids are percent-encoded into tokens: every byte outside [A-Za-z0-9_-] becomes `%XX` (UTF-8, upper
 * case hex), so `.`, `*`, `>`, spaces and `%` itself can never split or wildcard a subject. An empty id
 * is the token `%`. A server id starting with `agent-` has its `a` written `%61`, so no server can
 * collide with the `agent-` process namespace.
 */
import { eventAddress, type LifecycleEvent } from '../events';
import type { EventProcess } from './types';

export const STREAM_NAME = 'KONNECTIVITY_EVENTS';
export const SUBJECT_ROOT = 'konnectivity.events';
export const ALL_EVENTS_SUBJECT = `${SUBJECT_ROOT}.>`;
export const AGENT_PROCESS_PREFIX = 'agent-';

const SAFE = /^[A-Za-z0-9_-]$/;

export function encodeToken(id: string): string {
  if (id === '') return '%';
  let out = '';
  for (const ch of id) {
    if (SAFE.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeToken(token: string): string {
  if (token === '%') return '';
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '%') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export function processToken(process: EventProcess): string {
  if (process.kind === 'agent') return AGENT_PROCESS_PREFIX + encodeToken(process.agentId);
  const token = encodeToken(process.serverId);
  return token.startsWith(AGENT_PROCESS_PREFIX) ? `%61${token.slice(1)}` : token;
}

export function subjectFor(process: EventProcess, event: LifecycleEvent): string {
  const { entity, entityId, token } = eventAddress(event);
  return `${SUBJECT_ROOT}.${processToken(process)}.${entity}.${encodeToken(entityId)}.${token}`;
}

/** Everything one process wrote. */
export function processSubjects(process: EventProcess): string {
  return `${SUBJECT_ROOT}.${processToken(process)}.>`;
}

export interface ParsedSubject {
  readonly process: EventProcess;
  readonly entity: string;
  readonly entityId: string;
  readonly token: string;
}

export function parseSubject(subject: string): ParsedSubject | undefined {
  const parts = subject.split('.');
  if (parts.length !== 6 || `${parts[0]}.${parts[1]}` !== SUBJECT_ROOT) return undefined;
  const [, , proc, entity, id, token] = parts as [string, string, string, string, string, string];
  const process: EventProcess = proc.startsWith(AGENT_PROCESS_PREFIX)
    ? { kind: 'agent', agentId: decodeToken(proc.slice(AGENT_PROCESS_PREFIX.length)) }
    : { kind: 'server', serverId: decodeToken(proc) };
  return { process, entity, entityId: decodeToken(id), token };
}
