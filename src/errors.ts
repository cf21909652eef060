/**
 * The one shape of our typed errors: a literal `reason` (tests, metric labels and exit codes switch on it)
 * and the `cause` it wraps; the message is what an operator reads. Each layer names its own reasons and
 * extends this, so converting an error at the edge is one `instanceof` and one switch.
 */
export class ReasonedError<R extends string> extends Error {
  constructor(
    readonly reason: R,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The message of anything thrown, for a log line or an error text. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
