/**
 * What a DIAL_REQ from a server asks the agent to dial, checked before anything is resolved or connected,
 * with each refusal in Go's wording (frontends match substrings of it).
 */
import { dialAddressLengthError } from '../../protocol/dialAddress';
import { boundPeerText } from '../../protocol/peerText';
import { missingHostError, splitHostPort } from './goDialErrors';

export function dialTarget(
  protocol: string,
  address: string,
): { host: string; port: number } | { error: string } {
  const tooLong = dialAddressLengthError(address);
  if (tooLong) return { error: tooLong };
  if (protocol !== 'tcp') {
    const network = boundPeerText(protocol);
    return { error: `dial ${network}: unknown network ${network}` };
  }
  const target = splitHostPort(address);
  if ('error' in target) return target;
  // Go would dial the agent's own loopback for an empty host; no frontend means that, and it would let a
  // control plane reach node-local services without naming them, so it is refused (README, deliberate).
  if (target.host === '') return { error: missingHostError(address) };
  return target;
}
