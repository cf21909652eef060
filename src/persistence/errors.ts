/** Failures of the event log, converted once at the edge (start-up config, CLI exit codes). */
export type EventLogErrorReason =
  | 'invalid-spec'
  | 'unreadable'
  | 'locked'
  | 'nats-unavailable'
  | 'stream-misconfigured'
  | 'read-failed'
  | 'closed';

export class EventLogError extends Error {
  override readonly name = 'EventLogError';
  constructor(
    readonly reason: EventLogErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
