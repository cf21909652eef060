/** Raised by the codec for bytes that are not a valid Packet. `reason` labels logs and metrics. */
export class MalformedPacketError extends Error {
  override readonly name = 'MalformedPacketError';
  constructor(
    readonly reason: 'truncated' | 'bad-wire-type' | 'payload-mismatch' | 'bad-varint',
    message: string,
  ) {
    super(message);
  }
}
