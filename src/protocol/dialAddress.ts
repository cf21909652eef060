/**
 * The longest dial address there can be. Anything longer is refused at once, before it is logged,
 * recorded, resolved or sent on, on the server (frontend dials) and on the agent (DIAL_REQs from a server).
 */

/**
 * A DNS name is at most 253 bytes, 254 with the trailing dot Go accepts, and the port at most `:65535`.
 * Every IPv6 literal form (`[ffff:...:255.255.255.255%zone]:65535`, a zone being an interface name of at
 * most 15 bytes) is far shorter.
 */
export const MAX_DIAL_ADDRESS_BYTES = 254 + ':65535'.length;

/** The DIAL_RSP error for an address no host:port can be, or null when its length is possible. */
export function dialAddressLengthError(address: string): string | null {
  if (address.length <= MAX_DIAL_ADDRESS_BYTES / 3) return null; // at most 3 UTF-8 bytes per UTF-16 unit
  const bytes = Buffer.byteLength(address, 'utf8');
  if (bytes <= MAX_DIAL_ADDRESS_BYTES) return null;
  return `dial tcp: address of ${bytes} bytes is longer than any host:port (at most ${MAX_DIAL_ADDRESS_BYTES})`;
}
