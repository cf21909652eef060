/**
 * Packets of a type we do not know are ignored, as the reference ignores them (it logs at -v=5 and goes
 * on): a newer peer may send types added after this build, and ending the stream would take every tunnel
 * on it down. The log is bounded so that a flood of them cannot fill the disk: one warning per stream, the
 * rest only at -v=5.
 */
import type { ActorLogger, LogFields } from './instruments';

/** klog level of the repeated lines; the reference logs every unrecognised packet at this level. */
const REPEAT_LOG_LEVEL = 5;

export class UnknownPacketNotice {
  private count = 0;

  constructor(
    private readonly log: ActorLogger,
    /** Who sent them (agentID, peer, serverID), added to each line. */
    private readonly fields: LogFields,
  ) {}

  ignored(code: number): void {
    this.count++;
    if (this.count === 1) {
      this.log.warn('packet of an unknown type ignored (further ones on this stream only at -v=5)', {
        ...this.fields,
        type: code,
      });
    } else {
      this.log.debug(REPEAT_LOG_LEVEL, 'packet of an unknown type ignored', {
        ...this.fields,
        type: code,
        count: this.count,
      });
    }
  }
}
