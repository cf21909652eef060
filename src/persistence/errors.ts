import { ReasonedError, errorText } from '../errors';

/** Failures of the event log, converted once at the edge (start-up config, CLI exit codes). */
export type EventLogErrorReason =
  | 'invalid-spec'
  | 'unreadable'
  | 'locked'
  | 'nats-unavailable'
  | 'stream-misconfigured'
  | 'read-failed'
  | 'closed';

export class EventLogError extends ReasonedError<EventLogErrorReason> {
  override readonly name = 'EventLogError';
}

export { errorText };
