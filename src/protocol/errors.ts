import { ReasonedError } from '../errors';

/** Raised by the codec for bytes that are not a valid Packet. `reason` labels logs and metrics. */
export class MalformedPacketError extends ReasonedError<
  'truncated' | 'bad-wire-type' | 'payload-mismatch' | 'bad-varint'
> {
  override readonly name = 'MalformedPacketError';
}
