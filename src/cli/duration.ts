/**
 * `--since` values (a Go duration back from now, or an RFC 3339 time) and how the CLI prints durations.
 * Go durations are parsed by the one parser the flags use (src/config/goDuration.ts).
 */
import { GoDurationError, parseGoDuration } from '../config/goDuration';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds, or undefined if `text` is not a Go duration. */
function durationOrUndefined(text: string): number | undefined {
  try {
    return parseGoDuration(text);
  } catch (e) {
    if (e instanceof GoDurationError) return undefined;
    throw e;
  }
}

/** `--since`: a duration back from `now` (`1h`) or an RFC 3339 time. */
export function parseSince(text: string, now: number): Date | undefined {
  const ms = durationOrUndefined(text);
  if (ms !== undefined) return ms >= 0 ? new Date(now - ms) : undefined;
  if (!RFC3339.test(text)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/** Renders milliseconds the way Go prints a time.Duration (`1h2m3.5s`, `250ms`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms) / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const s = `${Number(rest.toFixed(3))}s`;
  return h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
}
